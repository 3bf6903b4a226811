/**
 * TotalSegmentator's multi-label output read as a CtCase: one NIfTI label map whose header
 * extension carries the label names (io/caret-labels.ts reads them), as `TotalSegmentator --ml`
 * writes it; the project's shared sample totalsegmentator/example_seg.nii.gz (with its CT,
 * example_ct_sm.nii.gz) is one. The labels are the model's predictions, not manual ground truth.
 *
 * Names map to the vocabulary by identity, since CT_ORGANS uses TotalSegmentator's names where
 * it has the structure; TOTALSEGMENTATOR_ALIASES covers the ones spelled otherwise (its
 * liver_tumor is our "tumor" in the liver). The many structures the vocabulary has no name for
 * (vertebrae, ribs, muscles, lung lobes ...) keep their values in the label map and are listed
 * in info.unnamedLabels; the whole table is returned as `labelTable`.
 */
import * as path from "node:path";
import { niftiLabelNames } from "../io/caret-labels.js";
import { VolumeFileError } from "../io/errors.js";
import { isCtOrgan, type CtCase, type CtOrgan } from "./ct.js";
import { loadCtNifti } from "./ct-files.js";

/** TotalSegmentator names that are not vocabulary names, and what they are. */
export const TOTALSEGMENTATOR_ALIASES: Readonly<Record<string, { organ: CtOrgan; tumorOf?: CtOrgan }>> = {
  liver_tumor: { organ: "tumor", tumorOf: "liver" },
};

/** A TotalSegmentator label name in the vocabulary (with the tumour's host), or undefined. */
export function totalSegmentatorOrgan(name: string): { organ: CtOrgan; tumorOf?: CtOrgan } | undefined {
  return TOTALSEGMENTATOR_ALIASES[name] ?? (isCtOrgan(name) ? { organ: name } : undefined);
}

/**
 * A label table (value -> TotalSegmentator name) in the vocabulary: the values with a name,
 * those without, and the tumour's host. Throws naming `file` when two values would both be
 * "tumor" (ct.ts: one tumour per label map) or two values share an organ name.
 */
export function mapTotalSegmentatorLabels(table: Readonly<Record<number, string>>, file: string): { labelNames: Record<number, CtOrgan>; unnamed: number[]; tumorOf?: CtOrgan } {
  const labelNames: Record<number, CtOrgan> = {};
  const unnamed: number[] = [];
  let tumorOf: CtOrgan | undefined;
  const byOrgan = new Map<CtOrgan, number>();
  for (const [key, name] of Object.entries(table)) {
    const value = Number(key);
    if (value === 0) continue;
    const mapped = totalSegmentatorOrgan(name);
    if (!mapped) {
      unnamed.push(value);
      continue;
    }
    const twice = byOrgan.get(mapped.organ);
    if (twice !== undefined)
      throw new VolumeFileError(file, `label table gives ${twice} (${table[twice]}) and ${value} (${name}) the same organ name "${mapped.organ}"; the vocabulary needs a name per structure (see CT_ORGANS)`);
    byOrgan.set(mapped.organ, value);
    labelNames[value] = mapped.organ;
    if (mapped.tumorOf) tumorOf = mapped.tumorOf;
  }
  return { labelNames, unnamed: unnamed.sort((a, b) => a - b), tumorOf };
}

export interface TotalSegmentatorCase extends CtCase {
  /** The file's whole label table, value -> TotalSegmentator name (0 excluded). */
  labelTable: Record<number, string>;
}

/**
 * Read a TotalSegmentator label map (and its CT, when given; both are then required and must
 * share a grid). Errors name the file: no label table in the header, a label value the table
 * does not list, a table the vocabulary cannot hold.
 */
export async function readTotalSegmentatorCase(files: { labels: string; image?: string }): Promise<TotalSegmentatorCase> {
  const id = path.basename(files.labels).replace(/\.nii(?:\.gz)?$/, "");
  const out: TotalSegmentatorCase = { dataset: "totalsegmentator", id, labelNames: {}, info: { folder: path.dirname(files.labels) }, warnings: [], labelTable: {} };
  const image = files.image ?? path.join(path.dirname(files.labels), "(no image given)");
  await loadCtNifti(out, { image: { found: files.image, expected: image }, labels: { found: files.labels, expected: files.labels } }, { image: files.image !== undefined, labels: true }, (seg, file) => {
    const table = niftiLabelNames(seg);
    if (!table) throw new VolumeFileError(file, "no label table in the NIfTI header extensions (TotalSegmentator's multi-label output has one)");
    delete table[0];
    const { labelNames, unnamed, tumorOf } = mapTotalSegmentatorLabels(table, file);
    Object.assign(out, { labelNames, labelTable: table });
    out.info.unnamedLabels = unnamed;
    if (tumorOf) out.info.tumorOf = tumorOf;
    return Math.max(0, ...Object.keys(table).map(Number));
  });
  return out;
}
