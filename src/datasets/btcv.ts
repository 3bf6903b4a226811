/**
 * BTCV, the "Multi-Atlas Labeling Beyond the Cranial Vault" abdomen challenge (MICCAI 2015,
 * Synapse project syn3193805; also called Synapse multi-organ): portal-venous contrast CT, 30
 * labelled training scans and 20 test scans without labels, 13 organs.
 *
 * Layouts read (`.nii` is accepted wherever `.nii.gz` is; ids are the four digits NNNN):
 *   official  <root>/RawData/Training/img/imgNNNN.nii.gz, <root>/RawData/Training/label/labelNNNN.nii.gz,
 *             <root>/RawData/Testing/img/imgNNNN.nii.gz (root may also be RawData itself)
 *   direct    <root>/img/imgNNNN.nii.gz and <root>/label/labelNNNN.nii.gz (root is the folder
 *             that holds img/ and label/, e.g. RawData/Training, or a copy arranged so)
 * Other files (macOS "._" copies, .DS_Store) do not match the names and are ignored.
 *
 * Labels are BTCV's fixed numbering, 1..13 (BTCV_LABEL_NAMES), kept as stored; any other value
 * is an error naming the label file, and so is a label map whose shape or affine differs from
 * its image's. Volumes keep the stored axis order (BTCV stores ordinary axial NIfTI, first index
 * fastest); the affine is the file's, so world positions are patient RAS+ mm.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { VolumeFileError, describeThrown } from "../io/errors.js";
import type { CtCase, CtDataset, CtLoadOptions, CtOrgan } from "./ct.js";
import { loadCtNifti, type CtCaseFile } from "./ct-files.js";

/** BTCV's stored label values in the library's organ vocabulary (BTCV's own order). */
export const BTCV_LABEL_NAMES: Readonly<Record<number, CtOrgan>> = {
  1: "spleen",
  2: "kidney_right",
  3: "kidney_left",
  4: "gallbladder",
  5: "esophagus",
  6: "liver",
  7: "stomach",
  8: "aorta",
  9: "inferior_vena_cava",
  10: "portal_vein_and_splenic_vein",
  11: "pancreas",
  12: "adrenal_gland_right",
  13: "adrenal_gland_left",
};
const BTCV_MAX_LABEL = 13;

const FILE_RE = /^(img|label)(\d{4})\.nii(?:\.gz)?$/;

/** Where a case's files are: the folder holding img/ and label/, and the split it belongs to. */
interface BtcvLocation {
  dir: string;
  split?: "training" | "testing";
  image?: string;
  label?: string;
  /** The folder has a label/ subfolder (or is Training): a case without a label file lacks one. */
  labelled: boolean;
}

export class BtcvDataset implements CtDataset {
  readonly name: string = "btcv";
  private index?: Promise<Map<string, BtcvLocation>>;

  constructor(readonly root: string) {}

  async listCases(): Promise<string[]> {
    return [...(await this.cases()).keys()].sort();
  }

  async loadCase(id: string, options: CtLoadOptions = {}): Promise<CtCase> {
    const loc = (await this.cases()).get(id);
    if (!loc)
      throw new VolumeFileError(path.join(this.root, `img${id}.nii.gz`), `no BTCV case '${id}': no img/img${id}.nii.gz or label/label${id}.nii.gz under ${this.root} (official layout RawData/Training/img, or a folder holding img/ and label/)`);
    const out: CtCase = { dataset: this.name, id, labelNames: { ...BTCV_LABEL_NAMES }, info: { folder: loc.dir }, warnings: [] };
    if (loc.split) out.info.split = loc.split;
    const image: CtCaseFile = { found: loc.image, expected: path.join(loc.dir, "img", `img${id}.nii.gz`) };
    const labels: CtCaseFile | undefined = loc.label || loc.labelled ? { found: loc.label, expected: path.join(loc.dir, "label", `label${id}.nii.gz`) } : undefined;
    await loadCtNifti(out, { image, labels }, options, BTCV_MAX_LABEL);
    return out;
  }

  private cases(): Promise<Map<string, BtcvLocation>> {
    this.index ??= (async () => {
      const found = new Map<string, BtcvLocation>();
      const folders: { dir: string; split?: "training" | "testing" }[] = [{ dir: this.root }];
      for (const base of [this.root, path.join(this.root, "RawData")])
        for (const [name, split] of [["Training", "training"], ["Testing", "testing"]] as const) folders.push({ dir: path.join(base, name), split });
      if (!(await isFolder(this.root))) throw new VolumeFileError(this.root, "not a folder (expected a BTCV copy: RawData/Training/img/..., or a folder holding img/ and label/)");
      for (const { dir, split } of folders) await scanCaseFolder(dir, split, found);
      return found;
    })();
    return this.index;
  }
}

async function isFolder(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

/** Cases in `dir`/img and `dir`/label, added to `found`; a case in two folders is an error. */
async function scanCaseFolder(dir: string, split: "training" | "testing" | undefined, found: Map<string, BtcvLocation>): Promise<void> {
  const here = new Map<string, BtcvLocation>();
  let any = false;
  let labelled = split === "training";
  for (const sub of ["img", "label"] as const) {
    const folder = path.join(dir, sub);
    if (!(await isFolder(folder))) continue;
    any = true;
    if (sub === "label") labelled = true;
    let names: string[];
    try {
      names = await fs.readdir(folder);
    } catch (e) {
      throw new VolumeFileError(folder, `cannot list folder: ${describeThrown(e)}`, { cause: e });
    }
    for (const name of names.sort()) {
      const m = FILE_RE.exec(name);
      if (!m || (m[1] === "img") !== (sub === "img")) continue;
      const id = m[2];
      const loc = here.get(id) ?? { dir, split, labelled: false };
      const key = sub === "img" ? "image" : "label";
      if (loc[key]) throw new VolumeFileError(path.join(folder, name), `case ${id} has two ${sub} files (${path.basename(loc[key]!)} and ${name}): keep one`);
      loc[key] = path.join(folder, name);
      here.set(id, loc);
    }
  }
  if (!any) return;
  for (const [id, loc] of here) {
    loc.labelled = labelled;
    const other = found.get(id);
    if (other && other.dir !== dir)
      throw new VolumeFileError(path.join(dir, "img", `img${id}.nii.gz`), `BTCV case ${id} is stored twice, in ${other.dir} and in ${dir}: keep one`);
    found.set(id, loc);
  }
}
