/**
 * One interface for abdominal CT datasets (KiTS19, BTCV, the MSD CT tasks, TotalSegmentator's
 * multi-label output), parallel to the cardiac one in types.ts, so a protocol can run on any of
 * them or on the synthetic abdominal phantom without knowing which it has.
 *
 * Label values stay as each dataset stores them (KiTS19: 1 kidney, 2 tumor; BTCV numbers 13
 * organs; MSD numbers per task), because datasets label different organ sets and no single
 * numbering fits all. What is shared is the organ *names*: `labelNames` maps each stored value
 * to a name from CT_ORGANS, so code asks for "kidney_left" and finds its value, whatever the
 * dataset.
 */
import type { Volume } from "../io/volume";
import type { OpenedDataset } from "./types";

/**
 * The library's organ vocabulary, lower case snake_case, with TotalSegmentator's name wherever
 * TotalSegmentator has the structure (so its label tables map by identity). "kidney" is a kidney
 * whose side the dataset does not say (KiTS19 labels both kidneys 1); "kidney_left" /
 * "kidney_right" (and every other _left / _right) are the PATIENT's left and right, which in the
 * library's RAS+ world is -x / +x. A loader for a dataset with another structure adds its name
 * here; never rename one (label maps and results store these strings).
 *
 * Where the names come from: KiTS19 (kidney, tumor), the phantom (lung: TotalSegmentator labels
 * the five lobes instead, which have no name here yet), BTCV's 13 organs
 * (spleen ... adrenal_gland_left), the MSD CT tasks (liver, lung and colon as tumour hosts,
 * pancreas, liver_vessels = Task08's "Vessel", the intrahepatic vessels: TotalSegmentator's
 * liver_vessels model is trained on that very task and calls the class so).
 *
 * TUMOURS: one name, "tumor", and the organ it grows in goes in `CtCase.info.tumorOf` (a
 * CtOrgan). Why not "liver_tumor", "pancreas_tumor" ...:
 * - every dataset here labels at most one tumour class and it always belongs to the dataset's
 *   target organ (KiTS19 kidney, MSD Liver / HepaticVessel liver, Pancreas, Lung, Colon), so the
 *   host is a fact about the dataset, and one info field carries it without loss;
 * - KiTS19's loader, the abdominal phantom (ABDOMEN_LABELS.tumor) and the kidney paper's stored
 *   results (results/kidney/rows.jsonl) already say "tumor"; renaming it would break them, and keeping both "tumor" and
 *   "kidney_tumor" would give one class two names;
 * - "which voxels are tumour" stays one lookup across datasets, while a caller that pools
 *   datasets (and must not merge a liver and a pancreas tumour) reads `tumorOf` to keep them
 *   apart.
 * The day one label map holds tumours of two organs, organ-specific names become necessary:
 * the TotalSegmentator mapping (totalsegmentator.ts) refuses such a table instead of guessing.
 */
export const CT_ORGANS = [
  "kidney",
  "kidney_left",
  "kidney_right",
  "tumor",
  "liver",
  "spleen",
  "gallbladder",
  "esophagus",
  "stomach",
  "aorta",
  "inferior_vena_cava",
  "portal_vein_and_splenic_vein",
  "pancreas",
  "adrenal_gland_right",
  "adrenal_gland_left",
  "liver_vessels",
  "lung",
  "colon",
] as const;
export type CtOrgan = (typeof CT_ORGANS)[number];

/** True when `name` is in the vocabulary (exact, lower case). */
export function isCtOrgan(name: string): name is CtOrgan {
  return (CT_ORGANS as readonly string[]).includes(name);
}

/** Everything loaded for one CT case. */
export interface CtCase {
  dataset: string;
  id: string;
  /** Hounsfield units, in the stored type (int16 or float32; float32 when the file is scaled). */
  image?: Volume;
  /** Same shape and affine as `image` when both are loaded (checked on load). */
  labels?: Volume<Uint8Array>;
  /** Stored label value -> organ name; 0 (background) is not listed. */
  labelNames: Record<number, CtOrgan>;
  /**
   * Dataset metadata and where the files were (for provenance and error reports). When
   * labelNames has "tumor", `tumorOf` names its host organ (a CtOrgan; see CT_ORGANS).
   */
  info: Record<string, string | number | number[]>;
  /** Things that were odd but not fatal (e.g. a test case without labels). */
  warnings: string[];
}

/**
 * What to load. Each field: true = required (absent file -> error), false = skip, left out =
 * load when present (absent -> a line in `warnings`).
 */
export interface CtLoadOptions {
  image?: boolean;
  labels?: boolean;
}

export interface CtDataset extends OpenedDataset {
  /** Case ids, sorted; the ids loadCase accepts. */
  listCases(): Promise<string[]>;
  loadCase(id: string, options?: CtLoadOptions): Promise<CtCase>;
}
