/**
 * ACDC (Automated Cardiac Diagnosis Challenge, MICCAI 2017): short-axis cine only.
 *
 * Layout: patientNNN/ folders (anywhere up to two levels below the root, e.g.
 * database/training/patient001 and database/testing/patient101), each with
 *   Info.cfg                      "ED: 1", "ES: 12", "Group: DCM", "Height: 184.0", "NbFrame: 30", "Weight: 95.0"
 *   patientNNN_4d.nii.gz          the cine [nx, ny, nz, nt]
 *   patientNNN_frameFF.nii.gz     the ED and ES frames (FF = 1-based frame number from Info.cfg)
 *   patientNNN_frameFF_gt.nii.gz  their labels
 *
 * LABELS ARE REMAPPED ON LOAD. ACDC stores 1 = RV cavity, 2 = myocardium, 3 = LV cavity; the
 * library's convention (M&Ms) is 1 = LV, 2 = myocardium, 3 = RV. `ACDC_TO_LIBRARY` swaps 1 and 3,
 * so `labels` from this loader mean the same as from every other loader.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { VolumeFileError, describeThrown } from "../io/errors";
import { readNifti } from "../io/nifti";
import type { Volume } from "../io/volume";
import { firstExisting, readLabelledNifti } from "./labels";
import { PHASES, type CardiacDataset, type LoadOptions, type SubjectData, type ViewName } from "./types";

/** ACDC stored label -> library label: 0 bg -> 0, 1 RV -> 3, 2 myo -> 2, 3 LV -> 1. */
export const ACDC_TO_LIBRARY: readonly number[] = [0, 3, 2, 1];

export interface AcdcInfo {
  /** 1-based frame numbers, as in the file names. */
  ED: number;
  ES: number;
  group?: string;
  height?: number;
  weight?: number;
  nbFrame?: number;
}

/** Parse Info.cfg text ("Key: value" lines); `file` names the file in errors. */
export function parseAcdcInfo(text: string, file: string): AcdcInfo {
  const fields = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, n) => {
    if (line.trim() === "") return;
    const m = /^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m) throw new VolumeFileError(file, `line ${n + 1} is not "Key: value": ${JSON.stringify(line)}`);
    fields.set(m[1], m[2]);
  });
  const frame = (k: "ED" | "ES") => {
    const s = fields.get(k);
    if (s === undefined) throw new VolumeFileError(file, `no "${k}:" line`);
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new VolumeFileError(file, `${k} frame "${s}" is not a frame number >= 1`);
    return v;
  };
  const num = (k: string) => {
    const s = fields.get(k);
    if (s === undefined) return undefined;
    const v = Number(s);
    if (!Number.isFinite(v)) throw new VolumeFileError(file, `${k} "${s}" is not a number`);
    return v;
  };
  const info: AcdcInfo = { ED: frame("ED"), ES: frame("ES"), group: fields.get("Group"), height: num("Height"), weight: num("Weight"), nbFrame: num("NbFrame") };
  if (info.nbFrame !== undefined) {
    for (const k of ["ED", "ES"] as const)
      if (info[k] > info.nbFrame) throw new VolumeFileError(file, `${k} frame ${info[k]} is beyond NbFrame ${info.nbFrame}`);
  }
  return info;
}

const frameName = (id: string, frame: number, gt: boolean, ext: string) => `${id}_frame${String(frame).padStart(2, "0")}${gt ? "_gt" : ""}${ext}`;
const EXTS = [".nii.gz", ".nii"];

export class AcdcDataset implements CardiacDataset {
  readonly name: string = "acdc";
  private index?: Promise<Map<string, string>>;

  constructor(readonly root: string) {}

  async listSubjects(): Promise<string[]> {
    return [...(await this.folders()).keys()].sort();
  }

  /** The folder of a subject ("patient001"). */
  async subjectFolder(id: string): Promise<string> {
    const dir = (await this.folders()).get(id);
    if (!dir) throw new VolumeFileError(this.root, `no ACDC subject '${id}' (folders are named patientNNN)`);
    return dir;
  }

  async readInfo(id: string): Promise<AcdcInfo> {
    const file = path.join(await this.subjectFolder(id), "Info.cfg");
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (e) {
      throw new VolumeFileError(file, `cannot read: ${describeThrown(e)}`, { cause: e });
    }
    return parseAcdcInfo(text, file);
  }

  async loadSubject(id: string, options: LoadOptions = {}): Promise<SubjectData> {
    const views = options.views ?? ["SA"];
    const bad = views.find((v) => v !== "SA");
    if (bad) throw new VolumeFileError(await this.subjectFolder(id), `ACDC has short-axis images only, no ${bad} view`);
    const dir = await this.subjectFolder(id);
    const info = await this.readInfo(id);
    const out: SubjectData = {
      dataset: this.name,
      id,
      views: {},
      info: { folder: dir, edFrame: info.ED, esFrame: info.ES, labelRemap: "ACDC 1 RV/2 myo/3 LV -> library 1 LV/2 myo/3 RV" },
      warnings: [],
    };
    if (info.group !== undefined) out.info.group = info.group;
    if (info.height !== undefined) out.info.height = info.height;
    if (info.weight !== undefined) out.info.weight = info.weight;
    if (info.nbFrame !== undefined) out.info.nbFrame = info.nbFrame;
    for (const phase of options.phases ?? PHASES) {
      const frame = info[phase];
      const image = await firstExisting(EXTS.map((x) => path.join(dir, frameName(id, frame, false, x))));
      const gt = await firstExisting(EXTS.map((x) => path.join(dir, frameName(id, frame, true, x))));
      if (!image) {
        const expected = path.join(dir, frameName(id, frame, false, ".nii.gz"));
        throw new VolumeFileError(expected, `missing: Info.cfg gives ${phase} = frame ${frame}${gt ? ` and ${gt} exists` : ""}`);
      }
      const loaded = await readLabelledNifti(image, options.labels === false ? undefined : gt, ACDC_TO_LIBRARY);
      (out.views.SA ??= {})[phase] = loaded;
    }
    return out;
  }

  async loadCine(id: string, view: ViewName = "SA"): Promise<Volume> {
    const dir = await this.subjectFolder(id);
    if (view !== "SA") throw new VolumeFileError(dir, `ACDC has short-axis images only, no ${view} cine`);
    const file = await firstExisting(EXTS.map((x) => path.join(dir, `${id}_4d${x}`)));
    if (!file) throw new VolumeFileError(path.join(dir, `${id}_4d.nii.gz`), "missing: no 4D cine");
    return readNifti(file);
  }

  private folders(): Promise<Map<string, string>> {
    this.index ??= findPatientFolders(this.root);
    return this.index;
  }
}

/** patientNNN folders at the root or up to two levels below (database/training/patient001). */
async function findPatientFolders(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const visit = async (dir: string, depth: number): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (depth === 0) throw new VolumeFileError(dir, `cannot list folder: ${describeThrown(e)}`, { cause: e });
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (/^patient\d+$/.test(e.name)) {
        const other = found.get(e.name);
        if (other) throw new VolumeFileError(p, `subject ${e.name} is also at ${other}`);
        found.set(e.name, p);
      } else if (depth < 2) {
        await visit(p, depth + 1);
      }
    }
  };
  await visit(root, 0);
  return found;
}
