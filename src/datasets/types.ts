/**
 * One interface for every cardiac dataset, so a protocol can run on M&Ms-2, ACDC, Sunnybrook or
 * the synthetic phantoms (written in the M&Ms-2 layout) without knowing which it has.
 *
 * Label convention, the library's (M&Ms's), whatever the dataset stores on disk:
 *   0 background, 1 LV blood pool, 2 LV myocardium, 3 RV blood pool.
 * Loaders remap on load (ACDC stores 1 RV / 3 LV and is swapped; Sunnybrook contours are
 * rasterised to 1 and 2), so nothing downstream ever sees a dataset's own numbering.
 */
import type { Volume } from "../io/volume";

export type ViewName = "SA" | "2CH" | "3CH" | "4CH";
export type Phase = "ED" | "ES";

export const VIEW_NAMES: readonly ViewName[] = ["SA", "2CH", "3CH", "4CH"];
export const PHASES: readonly Phase[] = ["ED", "ES"];

/** The library's label values (M&Ms convention). */
export const LABEL = { background: 0, lv: 1, myocardium: 2, rv: 3 } as const;
export const MAX_LABEL = 3;

/** An image at one view and phase, with its label map on the same grid when annotated. */
export interface LabelledImage {
  image: Volume;
  /** Same shape and affine as `image` (checked on load), values 0..3 in the library convention. */
  labels?: Volume<Uint8Array>;
  /**
   * Slices k that carry annotations. Absent: every slice is annotated (ACDC, M&Ms-2). Sunnybrook
   * contours cover only some slices; the others are 0 in `labels` but are NOT known background,
   * so a loss must skip them.
   */
  labelledSlices?: number[];
  /**
   * Label values the annotators drew on the labelled slices. Absent: all of 1, 2, 3. Sunnybrook
   * has [1, 2] at ED (endo + epi) and [1] at ES (endo only): a 0 there may be myocardium or RV.
   */
  annotatedLabels?: number[];
}

export type SubjectViews = Partial<Record<ViewName, Partial<Record<Phase, LabelledImage>>>>;

/** Everything loaded for one subject. */
export interface SubjectData {
  dataset: string;
  id: string;
  views: SubjectViews;
  /** Dataset metadata (ACDC: group, height, weight, ED/ES frame; Sunnybrook: phase indices...). */
  info: Record<string, string | number | number[]>;
  /** Things that were odd but not fatal (e.g. a contour on a different phase, skipped). */
  warnings: string[];
}

export interface LoadOptions {
  /** Views to load; default every view the subject has. A view asked for but absent is an error. */
  views?: readonly ViewName[];
  /** Phases to load; default both. */
  phases?: readonly Phase[];
  /** Load label maps when present; default true. */
  labels?: boolean;
}

/** What every dataset loader (cardiac here, CT in ct.ts) says about itself. */
export interface OpenedDataset {
  /** Short name, as in data-manifests/<name>.json. */
  readonly name: string;
  /** Folder the dataset was opened on. */
  readonly root: string;
}

export interface CardiacDataset extends OpenedDataset {
  /** Subject ids, sorted; the ids loadSubject accepts. */
  listSubjects(): Promise<string[]>;
  loadSubject(id: string, options?: LoadOptions): Promise<SubjectData>;
  /** The whole cine of a view as a 4D volume [nx, ny, nz, nt] (VolumeFileError if there is none). */
  loadCine(id: string, view?: ViewName): Promise<Volume>;
}
