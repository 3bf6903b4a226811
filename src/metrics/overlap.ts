/**
 * Overlap metrics for label maps: confusion counts and the Dice coefficient per class.
 *
 * Inputs are two label maps of equal length (any typed array or number array; voxel order does
 * not matter for overlap). A class is a label value; voxel v belongs to class c in a map when
 * map[v] === c. Classes are scored one against the rest, so a voxel labelled 2 in the prediction
 * and 3 in the reference is a false positive for class 2 and a false negative for class 3.
 *
 * Empty cases (Dice = 2 TP / (2 TP + FP + FN) is 0/0 only when both maps lack the class):
 * - prediction and reference both empty: `emptyBoth`, default 1 (perfect agreement);
 * - exactly one of them empty: 0 (TP = 0 and the denominator is positive), never NaN.
 *
 * Which one the reproduction uses, and why: the default, 1. The papers score each subject's whole
 * 3D short-axis stack, where every cardiac class is present in the reference, so the 0/0 case
 * never arises there and the choice does not move a headline number. It does arise in per-slice
 * evaluation (apical and basal slices without a right ventricle, say), and there a network that
 * correctly predicts "nothing here" has agreed perfectly with the annotator; scoring it 1 keeps
 * those slices in the average instead of silently averaging only over the harder ones. Pass
 * `emptyBoth: NaN` for the nnU-Net convention (such cases are undefined and left out of means);
 * `meanDice` skips NaN classes, and `summarize` in ./stats counts what it excluded.
 */

/** A label map or binary mask: typed arrays and plain arrays both qualify. */
export type LabelArray = ArrayLike<number>;

/** Voxel counts for one class scored against the rest. */
export interface Confusion {
  /** predicted c, reference c */
  tp: number;
  /** predicted c, reference not c */
  fp: number;
  /** predicted not c, reference c */
  fn: number;
  /** neither */
  tn: number;
}

export interface DiceOptions {
  /**
   * Dice when neither map contains the class. 1 (default): perfect agreement. NaN: undefined,
   * to be excluded from means (nnU-Net's convention). See the module comment for the choice.
   */
  emptyBoth?: number;
}

function checkLengths(pred: LabelArray, ref: LabelArray): void {
  if (pred.length !== ref.length) throw new Error(`label maps differ in length: prediction ${pred.length}, reference ${ref.length}`);
}

/**
 * Confusion counts for several classes in one pass over the voxels (the maps can be millions of
 * voxels, so one pass for all classes rather than one per class). Returned in `labels` order.
 */
export function confusionPerClass(pred: LabelArray, ref: LabelArray, labels: readonly number[]): Confusion[] {
  checkLengths(pred, ref);
  // Map label value -> slot. A Map handles any label value (negative, large, non-integer);
  // the lookup costs little next to the memory traffic.
  const slot = new Map<number, number>();
  labels.forEach((c, i) => {
    if (slot.has(c)) throw new Error(`label ${c} listed twice`);
    slot.set(c, i);
  });
  const tp = new Float64Array(labels.length);
  const fp = new Float64Array(labels.length);
  const fn = new Float64Array(labels.length);
  for (let v = 0; v < pred.length; v++) {
    const p = pred[v];
    const r = ref[v];
    if (p === r) {
      const s = slot.get(p);
      if (s !== undefined) tp[s]++;
    } else {
      const sp = slot.get(p);
      if (sp !== undefined) fp[sp]++;
      const sr = slot.get(r);
      if (sr !== undefined) fn[sr]++;
    }
  }
  return labels.map((_, i) => ({ tp: tp[i], fp: fp[i], fn: fn[i], tn: pred.length - tp[i] - fp[i] - fn[i] }));
}

/** Confusion counts for one class. */
export function confusion(pred: LabelArray, ref: LabelArray, label: number): Confusion {
  return confusionPerClass(pred, ref, [label])[0];
}

/** Dice from counts: 2 TP / (2 TP + FP + FN); `emptyBoth` when the denominator is 0. */
export function diceFromConfusion(c: Confusion, options: DiceOptions = {}): number {
  const denom = 2 * c.tp + c.fp + c.fn;
  if (denom === 0) return options.emptyBoth ?? 1;
  return (2 * c.tp) / denom;
}

/** Dice of one class. Both maps without the class -> `emptyBoth` (default 1); one without it -> 0. */
export function dice(pred: LabelArray, ref: LabelArray, label: number, options: DiceOptions = {}): number {
  return diceFromConfusion(confusion(pred, ref, label), options);
}

/** Dice of each class, in `labels` order. */
export function dicePerClass(pred: LabelArray, ref: LabelArray, labels: readonly number[], options: DiceOptions = {}): number[] {
  return confusionPerClass(pred, ref, labels).map((c) => diceFromConfusion(c, options));
}

/**
 * Mean Dice over `labels` (usually the foreground classes, e.g. [1, 2, 3]; leave out the
 * background, whose Dice is near 1 and says nothing). Classes whose Dice is NaN (only possible with
 * `emptyBoth: NaN`) are skipped; if every class is NaN, or `labels` is empty, the mean is NaN.
 */
export function meanDice(pred: LabelArray, ref: LabelArray, labels: readonly number[], options: DiceOptions = {}): number {
  const scores = dicePerClass(pred, ref, labels, options).filter((d) => !Number.isNaN(d));
  if (scores.length === 0) return NaN;
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}
