/**
 * M&Ms-2 (Multi-Disease, Multi-View & Multi-Center Right Ventricular Segmentation in Cardiac MRI).
 *
 * Files per subject NNN, as released (dataset/NNN/...):
 *   NNN_SA_ED.nii.gz  NNN_SA_ED_gt.nii.gz  NNN_SA_ES.nii.gz  NNN_SA_ES_gt.nii.gz  NNN_SA_CINE.nii.gz
 *   NNN_LA_ED.nii.gz  NNN_LA_ED_gt.nii.gz  NNN_LA_ES.nii.gz  NNN_LA_ES_gt.nii.gz  NNN_LA_CINE.nii.gz
 * The LA files are the 4-chamber view. The synthetic phantoms add the views M&Ms-2 lacks as
 * NNN_LA_2CH_ED.nii.gz and NNN_LA_3CH_ED.nii.gz (and _gt, ES), so one loader reads both.
 * Labels are already in the library convention (1 LV, 2 myocardium, 3 RV), stored as float64
 * in the real files; they are checked to be integers 0..3 and kept as Uint8Array.
 *
 * Layouts: one folder per subject (root/NNN/NNN_*.nii.gz), a flat folder (root/NNN_*.nii.gz),
 * or the release's parent folder holding dataset/ (used when root itself holds no subject).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { VolumeFileError, describeThrown } from "../io/errors";
import { readNifti } from "../io/nifti";
import type { Volume } from "../io/volume";
import { readLabelledNifti } from "./labels";
import { PHASES, VIEW_NAMES, type CardiacDataset, type LoadOptions, type Phase, type SubjectData, type ViewName } from "./types";

export type Mnms2Phase = Phase | "CINE";

export interface Mnms2FileInfo {
  id: string;
  view: ViewName;
  phase: Mnms2Phase;
  labels: boolean;
}

// The id is lazy (.+?) so "001_LA_2CH_ED" splits as 001 + LA_2CH + ED.
const FILE_RE = /^(.+?)_(SA|LA)(?:_(2CH|3CH))?_(ED|ES|CINE)(_gt)?\.nii(?:\.gz)?$/;

/** What a file name says, or undefined when it is not an M&Ms-2 image or label file. */
export function parseMnms2Name(name: string): Mnms2FileInfo | undefined {
  const m = FILE_RE.exec(name);
  if (!m) return undefined;
  const [, id, plane, la, phase, gt] = m;
  if (phase === "CINE" && gt) return undefined; // there is no labelled cine
  const view: ViewName = plane === "SA" ? "SA" : la === "2CH" || la === "3CH" ? la : "4CH";
  if (plane === "SA" && la) return undefined;
  return { id, view, phase: phase as Mnms2Phase, labels: gt !== undefined };
}

/** The canonical (gzip) file name: the inverse of parseMnms2Name. */
export function mnms2Name(id: string, view: ViewName, phase: Mnms2Phase, labels: boolean): string {
  const viewPart = view === "SA" ? "SA" : view === "4CH" ? "LA" : `LA_${view}`;
  return `${id}_${viewPart}_${phase}${labels ? "_gt" : ""}.nii.gz`;
}

const key = (view: ViewName, phase: Mnms2Phase, labels: boolean) => `${view}_${phase}${labels ? "_gt" : ""}`;

interface SubjectFiles {
  /** Folder holding the subject's files (its own folder, or the flat root). */
  dir: string;
  /** key(view, phase, labels) -> path */
  files: Map<string, string>;
}

export class Mnms2Dataset implements CardiacDataset {
  readonly name: string = "mnms2";
  private index?: Promise<Map<string, SubjectFiles>>;

  constructor(readonly root: string) {}

  async listSubjects(): Promise<string[]> {
    return [...(await this.subjects()).keys()].sort();
  }

  /** The files found for a subject: key like "SA_ED", "4CH_ES_gt", "SA_CINE" -> path. */
  async subjectFiles(id: string): Promise<SubjectFiles> {
    const s = (await this.subjects()).get(id);
    if (!s) {
      const have = [...(await this.subjects()).keys()].sort();
      throw new VolumeFileError(this.root, `no subject '${id}' (found ${have.length}: ${have.slice(0, 10).join(", ")}${have.length > 10 ? ", ..." : ""})`);
    }
    return s;
  }

  async loadSubject(id: string, options: LoadOptions = {}): Promise<SubjectData> {
    const { dir, files } = await this.subjectFiles(id);
    const present = VIEW_NAMES.filter((v) => PHASES.some((p) => files.has(key(v, p, false)) || files.has(key(v, p, true))));
    const views = options.views ?? present;
    const phases = options.phases ?? PHASES;
    const out: SubjectData = { dataset: this.name, id, views: {}, info: { folder: dir }, warnings: [] };
    for (const view of views) {
      for (const phase of phases) {
        const image = files.get(key(view, phase, false));
        const gt = files.get(key(view, phase, true));
        if (!image) {
          if (gt) throw new VolumeFileError(gt, `label map has no image: expected ${path.join(dir, mnms2Name(id, view, phase, false))}`);
          throw new VolumeFileError(path.join(dir, mnms2Name(id, view, phase, false)), `missing: subject ${id} has no ${view} ${phase} image`);
        }
        const loaded = await readLabelledNifti(image, options.labels === false ? undefined : gt);
        (out.views[view] ??= {})[phase] = loaded;
      }
    }
    return out;
  }

  async loadCine(id: string, view: ViewName = "SA"): Promise<Volume> {
    const { dir, files } = await this.subjectFiles(id);
    const file = files.get(key(view, "CINE", false));
    if (!file) throw new VolumeFileError(path.join(dir, mnms2Name(id, view, "CINE", false)), `missing: subject ${id} has no ${view} cine`);
    return readNifti(file);
  }

  private subjects(): Promise<Map<string, SubjectFiles>> {
    this.index ??= this.scan();
    return this.index;
  }

  private async scan(): Promise<Map<string, SubjectFiles>> {
    const found = await scanFolder(this.root);
    if (found.size === 0) {
      // The release unpacks to <root>/dataset/NNN/: accept its parent too.
      const nested = path.join(this.root, "dataset");
      if (await isDirectory(nested)) return scanFolder(nested);
    }
    return found;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readDir(folder: string): Promise<import("node:fs").Dirent[]> {
  try {
    return await fs.readdir(folder, { withFileTypes: true });
  } catch (e) {
    throw new VolumeFileError(folder, `cannot list folder: ${describeThrown(e)}`, { cause: e });
  }
}

/** Subjects in `root`: flat files, and one level of subject folders. */
async function scanFolder(root: string): Promise<Map<string, SubjectFiles>> {
  const subjects = new Map<string, SubjectFiles>();
  const add = (file: string, info: Mnms2FileInfo, dir: string) => {
    let s = subjects.get(info.id);
    if (!s) subjects.set(info.id, (s = { dir, files: new Map() }));
    if (s.dir !== dir)
      throw new VolumeFileError(file, `subject ${info.id} also has files in ${s.dir}: keep one subject in one folder`);
    const k = key(info.view, info.phase, info.labels);
    const other = s.files.get(k);
    if (other) throw new VolumeFileError(file, `duplicate of ${other} (same subject, view, phase)`);
    s.files.set(k, file);
  };
  for (const e of await readDir(root)) {
    const p = path.join(root, e.name);
    if (e.isFile()) {
      const info = parseMnms2Name(e.name);
      if (info) add(p, info, root);
    } else if (e.isDirectory()) {
      for (const f of await readDir(p)) {
        const info = f.isFile() ? parseMnms2Name(f.name) : undefined;
        if (!info) continue;
        const file = path.join(p, f.name);
        // A file of subject 002 inside folder 001 is a copying mistake, not a new subject.
        if (info.id !== e.name) throw new VolumeFileError(file, `file of subject ${info.id} is in folder ${e.name}`);
        add(file, info, p);
      }
    }
  }
  return subjects;
}
