/**
 * Segmenting test stacks slice by slice and scoring them in 3D: Dice per class, HD95 and ASSD
 * in mm with the stack's real spacing (in-plane pixel and slice spacing), plus their means over
 * the scored classes (cardiac: LV, myocardium and RV; a CT paper passes its own). These are the
 * rows every paper's table is built from.
 */
import * as tf from "@tensorflow/tfjs";
import { dicePerClass } from "../metrics/overlap.js";
import { surfaceMetricsPerClass } from "../metrics/surface.js";
import type { Volume } from "../io/volume.js";
import type { SliceStack } from "./slice-stack.js";
import type { ResultRow } from "./results.js";

export const CARDIAC_LABELS = [1, 2, 3] as const;
export const CARDIAC_LABEL_NAMES = ["LV", "MYO", "RV"] as const;

/** The classes a paper scores: label values and their names in the tables. */
export interface ScoredClasses {
  values: readonly number[];
  names: readonly string[];
}

export const CARDIAC_CLASSES: ScoredClasses = { values: CARDIAC_LABELS, names: CARDIAC_LABEL_NAMES };

/**
 * Argmax label map of a whole stack (slices * size * size). `channels` picks the segmentation
 * logits when the network has more outputs (multi-task heads): [first, count].
 */
export function predictStack(model: tf.LayersModel, stack: SliceStack, options: { batch?: number; channels?: [number, number] } = {}): Uint8Array {
  const batch = options.batch ?? 16;
  const area = stack.size * stack.size;
  const out = new Uint8Array(stack.slices * area);
  for (let k0 = 0; k0 < stack.slices; k0 += batch) {
    const n = Math.min(batch, stack.slices - k0);
    const labels = tf.tidy(() => {
      const x = tf.tensor4d(stack.image.subarray(k0 * area, (k0 + n) * area), [n, stack.size, stack.size, 1]);
      let logits = model.predict(x) as tf.Tensor4D;
      if (options.channels) logits = logits.slice([0, 0, 0, options.channels[0]], [-1, -1, -1, options.channels[1]]);
      return logits.argMax(-1);
    });
    out.set(labels.dataSync(), k0 * area);
    labels.dispose();
  }
  return out;
}

/** Metric rows (without paper/method/budget/seed) of one predicted stack against its labels. */
export function scoreStack(pred: Uint8Array, stack: SliceStack, classes: ScoredClasses = CARDIAC_CLASSES): Pick<ResultRow, "subject" | "phase" | "label" | "metric" | "value">[] {
  if (!stack.labels) throw new Error(`subject ${stack.subject} ${stack.phase}: no labels to score against`);
  const volume = (data: Uint8Array): Volume => ({ data, shape: stack.grid.shape, spacing: stack.grid.spacing, affine: stack.grid.affine });
  const dice = dicePerClass(pred, stack.labels, [...classes.values]);
  const surface = surfaceMetricsPerClass(volume(pred), volume(stack.labels), [...classes.values]);
  const rows: Pick<ResultRow, "subject" | "phase" | "label" | "metric" | "value">[] = [];
  const add = (label: string, metric: ResultRow["metric"], value: number) => rows.push({ subject: stack.subject, phase: stack.phase, label, metric, value });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  classes.names.forEach((name, c) => {
    add(name, "dice", dice[c]);
    add(name, "hd95", surface[c].hd95);
    add(name, "assd", surface[c].assd);
  });
  add("mean", "dice", mean(dice));
  // A class missed entirely gives NaN distances; the mean is then NaN too, and tables count it.
  add("mean", "hd95", mean(surface.map((s) => s.hd95)));
  add("mean", "assd", mean(surface.map((s) => s.assd)));
  return rows;
}
