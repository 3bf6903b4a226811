/**
 * The Medical Segmentation Decathlon's CT tasks (medicaldecathlon.com; CC BY-SA 4.0): Task03
 * Liver, Task06 Lung, Task07 Pancreas, Task08 HepaticVessel, Task09 Spleen, Task10 Colon. One
 * MsdDataset opens one task folder, the one holding dataset.json:
 *   dataset.json  {"name": "Spleen", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "spleen"},
 *                  "training": [{"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"}, ...],
 *                  "test": ["./imagesTs/spleen_1.nii.gz", ...], ...}
 *   imagesTr/, labelsTr/, imagesTs/
 * Everything is driven by dataset.json: the cases are the files it lists (paths relative to the
 * task folder), the case id is the file name without .nii.gz (spleen_2), and its label names
 * are mapped to the organ vocabulary by MSD_CT_TASKS (tumours as "tumor", host organ in
 * info.tumorOf; ct.ts says why). A label the table cannot map, a non-CT modality (the MR tasks
 * 01, 02, 04, 05 are refused, not half-read) or a malformed dataset.json is an error naming
 * dataset.json and the field.
 *
 * MSD QUIRKS, and what the loader does:
 * - Partial copies. The tasks are large (Task03 about 27 GB unpacked) and are often copied in
 *   part with the full dataset.json. Decision: a listed case with NONE of its files present is
 *   left out of listCases() and reported by inventory().absent (loadCase on it is an error naming
 *   the missing image and saying dataset.json lists it); a case with one of its two files present
 *   loads what is there, and the absent file follows CtLoadOptions like every CT loader (a
 *   warning naming the file, or an error when that part is required). Not an error at open time:
 *   a partial copy is a normal way to work, and a hard stop would make it unusable.
 * - macOS resource forks. The official tars were made on a Mac: next to each imagesTr/x.nii.gz
 *   sits a "._x.nii.gz" (AppleDouble metadata, a few KB, not NIfTI) that unpacks on Linux as a
 *   visible file and breaks loaders that glob *.nii.gz. This loader never globs: it opens only
 *   what dataset.json lists, so "._" files are ignored; inventory() counts them and leaves them
 *   out of `unlisted`.
 * Volumes keep the stored axis order and affine (world = patient RAS+ mm); labels keep the
 * task's values (e.g. HepaticVessel 1 vessel, 2 tumour).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { VolumeFileError, describeThrown } from "../io/errors.js";
import { isCtOrgan, type CtCase, type CtDataset, type CtLoadOptions, type CtOrgan } from "./ct.js";
import { loadCtNifti } from "./ct-files.js";
import { firstExisting } from "./labels.js";

/** One CT task's label names (lower case, as dataset.json spells them) in the vocabulary. */
export interface MsdTaskLabels {
  /** The official task folder. */
  folder: string;
  labels: Readonly<Record<string, CtOrgan>>;
  /** The organ the task's tumour label is in (CtCase.info.tumorOf). */
  tumorOf?: CtOrgan;
}

/**
 * The six CT tasks by dataset.json "name" (lower case, letters only). Label names as the
 * official dataset.json files have them: Task03 {1 liver, 2 cancer}, Task06 {1 cancer}, Task07
 * {1 pancreas, 2 cancer}, Task08 {1 Vessel, 2 Tumour}, Task09 {1 spleen}, Task10 {1 colon cancer
 * primaries}. Task08's vessels are the intrahepatic (hepatic and portal) vessels and its tumours
 * liver tumours, hence liver_vessels and tumorOf liver.
 */
export const MSD_CT_TASKS: Readonly<Record<string, MsdTaskLabels>> = {
  liver: { folder: "Task03_Liver", labels: { liver: "liver", cancer: "tumor" }, tumorOf: "liver" },
  lung: { folder: "Task06_Lung", labels: { cancer: "tumor" }, tumorOf: "lung" },
  pancreas: { folder: "Task07_Pancreas", labels: { pancreas: "pancreas", cancer: "tumor" }, tumorOf: "pancreas" },
  hepaticvessel: { folder: "Task08_HepaticVessel", labels: { vessel: "liver_vessels", tumour: "tumor" }, tumorOf: "liver" },
  spleen: { folder: "Task09_Spleen", labels: { spleen: "spleen" } },
  colon: { folder: "Task10_Colon", labels: { "colon cancer primaries": "tumor" }, tumorOf: "colon" },
};

/** One case as dataset.json lists it (absolute paths). */
export interface MsdListedCase {
  id: string;
  split: "training" | "test";
  image: string;
  label?: string;
}

/** dataset.json, checked and resolved. */
export interface MsdTask {
  /** The dataset.json file. */
  file: string;
  /** Its "name" (e.g. "Spleen"). */
  name: string;
  /** Its key in MSD_CT_TASKS, when it is one of the six. */
  task?: string;
  /** Stored label value -> name as dataset.json gives it (0 included). */
  labels: Record<number, string>;
  labelNames: Record<number, CtOrgan>;
  tumorOf?: CtOrgan;
  cases: MsdListedCase[];
  /** Other top-level string fields (description, reference, licence, release, tensorImageSize). */
  about: Record<string, string>;
}

/** What of dataset.json's cases a copy holds. */
export interface MsdInventory {
  /** Listed cases with at least one of their files present, sorted (listCases). */
  present: string[];
  /** Listed cases with none of their files present (a partial copy). */
  absent: { id: string; files: string[] }[];
  /** Files of present cases that are listed but absent. */
  missing: string[];
  /** NIfTI files in imagesTr/, labelsTr/, imagesTs/ that dataset.json does not list (relative). */
  unlisted: string[];
  /** macOS "._" resource-fork files found there, ignored. */
  resourceForks: number;
}

const IMAGE_FOLDERS = ["imagesTr", "labelsTr", "imagesTs"];
const NIFTI_RE = /\.nii(?:\.gz)?$/;

export class MsdDataset implements CtDataset {
  readonly name: string = "msd-ct";
  private parsed?: Promise<MsdTask>;
  private stock?: Promise<MsdInventory & { byId: Map<string, MsdListedCase>; exists: Set<string> }>;

  /** `root` is a task folder: the one holding dataset.json (e.g. Task09_Spleen). */
  constructor(readonly root: string) {}

  /** dataset.json, checked (modality CT, every label mapped) and resolved. */
  description(): Promise<MsdTask> {
    this.parsed ??= readMsdTask(this.root);
    return this.parsed;
  }

  async inventory(): Promise<MsdInventory> {
    const { byId: _byId, exists: _exists, ...inventory } = await this.stocktake();
    return inventory;
  }

  async listCases(): Promise<string[]> {
    return (await this.stocktake()).present.slice();
  }

  async loadCase(id: string, options: CtLoadOptions = {}): Promise<CtCase> {
    const task = await this.description();
    const { byId, exists } = await this.stocktake();
    const listed = byId.get(id);
    if (!listed) throw new VolumeFileError(task.file, `no case '${id}' in "training" or "test" (ids are the listed file names without .nii.gz)`);
    const note = `(${path.basename(task.file)} lists it: a partial copy?)`;
    const out: CtCase = {
      dataset: this.name,
      id,
      labelNames: { ...task.labelNames },
      info: { task: task.name, split: listed.split, folder: this.root, datasetJson: task.file },
      warnings: [],
    };
    if (task.tumorOf) out.info.tumorOf = task.tumorOf;
    const file = (p: string) => ({ found: exists.has(p) ? p : undefined, expected: p, note });
    const maxLabel = Math.max(...Object.keys(task.labels).map(Number));
    await loadCtNifti(out, { image: file(listed.image), labels: listed.label ? file(listed.label) : undefined }, options, maxLabel);
    return out;
  }

  private stocktake() {
    this.stock ??= (async () => {
      const task = await this.description();
      const byId = new Map(task.cases.map((c) => [c.id, c]));
      const exists = new Set<string>();
      const listedFiles = new Set<string>();
      for (const c of task.cases)
        for (const f of [c.image, c.label]) {
          if (!f) continue;
          listedFiles.add(f);
          if (await firstExisting([f])) exists.add(f);
        }
      const inventory: MsdInventory = { present: [], absent: [], missing: [], unlisted: [], resourceForks: 0 };
      for (const c of task.cases) {
        const files = [c.image, ...(c.label ? [c.label] : [])];
        const here = files.filter((f) => exists.has(f));
        if (here.length === 0) inventory.absent.push({ id: c.id, files });
        else {
          inventory.present.push(c.id);
          inventory.missing.push(...files.filter((f) => !exists.has(f)));
        }
      }
      inventory.present.sort();
      for (const sub of IMAGE_FOLDERS) {
        let names: string[];
        try {
          names = await fs.readdir(path.join(this.root, sub));
        } catch {
          continue; // imagesTs is absent from many copies; absent listed files are reported above
        }
        for (const n of names.sort()) {
          if (n.startsWith("._")) inventory.resourceForks++;
          else if (NIFTI_RE.test(n) && !listedFiles.has(path.join(this.root, sub, n))) inventory.unlisted.push(`${sub}/${n}`);
        }
      }
      return { ...inventory, byId, exists };
    })();
    return this.stock;
  }
}

/** The task key of a dataset.json "name" or a TaskNN_Name folder: lower case letters only. */
function taskKey(name: string): string {
  return name.replace(/^Task\d+_/, "").toLowerCase().replace(/[^a-z]/g, "");
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Read and check `<root>/dataset.json` (see MsdDataset); errors name the file and the field. */
export async function readMsdTask(root: string): Promise<MsdTask> {
  const file = path.join(root, "dataset.json");
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, "utf8"));
  } catch (e) {
    const what = e instanceof SyntaxError ? "not valid JSON" : "cannot read it (MsdDataset opens a task folder, the one holding dataset.json)";
    throw new VolumeFileError(file, `${what}: ${describeThrown(e)}`, { cause: e });
  }
  if (!isObject(json)) throw new VolumeFileError(file, "expected a JSON object");
  const fail = (problem: string): never => {
    throw new VolumeFileError(file, problem);
  };

  const name = typeof json.name === "string" ? json.name : fail(`"name" must be a string`);
  const modality = json.modality;
  if (!isObject(modality) || Object.keys(modality).length === 0) fail(`"modality" must be an object such as {"0": "CT"}`);
  const channels = Object.entries(modality as Record<string, unknown>);
  const notCt = channels.filter(([, m]) => typeof m !== "string" || m.trim().toUpperCase() !== "CT");
  const cts = Object.values(MSD_CT_TASKS).map((t) => t.folder).join(", ");
  if (notCt.length > 0) fail(`"modality" ${JSON.stringify(modality)} is not CT: MsdDataset reads the CT tasks only (${cts})`);
  if (channels.length !== 1) fail(`"modality" lists ${channels.length} CT channels; MsdDataset reads one-channel CT`);

  if (!isObject(json.labels)) fail(`"labels" must be an object such as {"0": "background", "1": "spleen"}`);
  const labels: Record<number, string> = {};
  for (const [k, v] of Object.entries(json.labels as Record<string, unknown>)) {
    if (!/^\d+$/.test(k) || Number(k) > 255 || typeof v !== "string") fail(`"labels" entry "${k}": ${JSON.stringify(v)} is not "<value 0..255>": "<name>"`);
    labels[Number(k)] = v as string;
  }
  const key = [taskKey(name), taskKey(path.basename(path.resolve(root)))].find((k) => k in MSD_CT_TASKS);
  const known = key ? MSD_CT_TASKS[key] : undefined;
  const labelNames: Record<number, CtOrgan> = {};
  for (const [value, label] of Object.entries(labels)) {
    if (Number(value) === 0) continue;
    const spelled = label.trim().toLowerCase();
    const organ = known?.labels[spelled] ?? (isCtOrgan(spelled.replace(/\s+/g, "_")) ? (spelled.replace(/\s+/g, "_") as CtOrgan) : undefined);
    if (!organ || (organ === "tumor" && !known?.tumorOf)) {
      const table = known ? `task ${known.folder} maps ${Object.keys(known.labels).map((l) => `"${l}"`).join(", ")}` : `task "${name}" is not one of the MSD CT tasks (${cts}), so only vocabulary names map`;
      fail(`"labels" entry "${value}": "${label}" has no name in the organ vocabulary (${table})`);
    }
    labelNames[Number(value)] = organ!;
  }

  const inFolder = (entry: unknown, at: string): string => {
    if (typeof entry !== "string" || entry === "") return fail(`${at} must be a path string`);
    const full = path.resolve(root, entry);
    const rel = path.relative(path.resolve(root), full);
    if (path.isAbsolute(entry) || rel.startsWith("..") || path.isAbsolute(rel)) fail(`${at} "${entry}" is not a path inside the task folder`);
    if (!NIFTI_RE.test(full)) fail(`${at} "${entry}" is not a .nii or .nii.gz file`);
    return path.join(root, rel);
  };
  const idOf = (f: string) => path.basename(f).replace(NIFTI_RE, "");
  const cases: MsdListedCase[] = [];
  if (!Array.isArray(json.training)) fail(`"training" must be a list of {"image": ..., "label": ...}`);
  (json.training as unknown[]).forEach((t, n) => {
    if (!isObject(t)) return fail(`"training"[${n}] must be {"image": ..., "label": ...}`);
    const image = inFolder(t.image, `"training"[${n}].image`);
    cases.push({ id: idOf(image), split: "training", image, label: inFolder(t.label, `"training"[${n}].label`) });
  });
  if (json.test !== undefined && !Array.isArray(json.test)) fail(`"test" must be a list of image paths`);
  ((json.test ?? []) as unknown[]).forEach((t, n) => {
    // The official files list test images as plain strings; accept {"image": ...} too.
    const image = inFolder(isObject(t) ? t.image : t, `"test"[${n}]`);
    cases.push({ id: idOf(image), split: "test", image });
  });
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id)) fail(`case ${c.id} is listed twice`);
    seen.add(c.id);
  }
  const about: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === "string" && k !== "name") about[k] = v;
  return { file, name, task: key, labels, labelNames, tumorOf: Object.values(labelNames).includes("tumor") ? known?.tumorOf : undefined, cases, about };
}
