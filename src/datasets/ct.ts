/**
 * One interface for abdominal CT datasets (KiTS19 now; BTCV and MSD later), parallel to the
 * cardiac one in types.ts, so a protocol can run on any of them or on the synthetic abdominal
 * phantom without knowing which it has.
 *
 * Label values stay as each dataset stores them (KiTS19: 1 kidney, 2 tumor; BTCV numbers 13
 * organs), because datasets label different organ sets and no single numbering fits all.
 * What is shared is the organ *names*: `labelNames` maps each stored value to a name from
 * CT_ORGANS, so code asks for "kidney" and finds its value, whatever the dataset.
 */
import type { Volume } from "../io/volume";
import type { OpenedDataset } from "./types";

/**
 * The library's organ vocabulary, lower case. "kidney" is a kidney whose side the dataset does
 * not say (KiTS19 labels both kidneys 1); "kidney_left" / "kidney_right" are the patient's left
 * and right. A loader for a dataset with another structure adds its name here.
 */
export const CT_ORGANS = ["kidney", "kidney_left", "kidney_right", "tumor", "liver", "spleen"] as const;
export type CtOrgan = (typeof CT_ORGANS)[number];

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
  /** Dataset metadata and where the files were (for provenance and error reports). */
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
