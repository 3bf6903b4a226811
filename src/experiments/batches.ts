/**
 * Seeded 2D training batches from prepared stacks: a random slice of a random stack, augmented
 * with a known map applied to the image and to all its target maps alike.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../random.js";
import { augmentSlice, type AugmentOptions } from "../transforms/augment.js";
import type { Stack } from "./cardiac-stacks.js";
import type { SliceStack } from "./slice-stack.js";

/** Which per-pixel target of a stack a batch carries. */
export type TargetKind = "labels" | "positions";

/** Continuous targets a batch can carry besides label maps (Zhang 2024). */
export interface ContinuousTargets {
  /** Plane-intersection heatmaps: [batch, size, size, C] float32, moved with the image. */
  heatmaps?: boolean;
  /** Slice locations: [batch] float32 (geometry, not changed by in-plane augmentation). */
  locations?: boolean;
}

/**
 * x: [batch, size, size, 1] float32, and one [batch, size, size] int32 tensor per requested
 * target (e.g. labels and positions of the same augmented slices, for multi-task training), plus
 * the continuous targets asked for in `continuous`. Asking for more targets never changes which
 * slices are drawn or how they are augmented.
 */
export function sampleBatch<K extends TargetKind>(
  stacks: (SliceStack & Partial<Pick<Stack, TargetKind | "heatmaps" | "heatmapViews" | "locations">>)[],
  targets: K[],
  batch: number,
  rng: Random,
  augment: AugmentOptions,
  continuous: ContinuousTargets = {},
  draw: SliceDraw = uniformSlices(stacks),
): { x: tf.Tensor4D; heatmaps?: tf.Tensor4D; locations?: tf.Tensor1D } & Record<K, tf.Tensor3D> {
  if (stacks.length === 0) throw new Error(`no stacks to draw a ${targets.join("+")} batch from`);
  const size = stacks[0].size;
  const area = size * size;
  const xs = new Float32Array(batch * area);
  const ys = targets.map(() => new Int32Array(batch * area));
  const channels = continuous.heatmaps ? (stacks[0].heatmapViews?.length ?? 0) : 0;
  const hs = new Float32Array(batch * area * channels);
  const ls = new Float32Array(continuous.locations ? batch : 0);
  for (let b = 0; b < batch; b++) {
    const drawn = draw(rng);
    const stack = stacks[drawn.stack];
    const k = drawn.k;
    const maps = targets.map((t) => {
      const m = stack[t];
      if (!m) throw new Error(`subject ${stack.subject} ${stack.phase} has no ${t}`);
      return m.subarray(k * area, (k + 1) * area);
    });
    let fields: Float32Array[] = [];
    if (channels > 0) {
      if (!stack.heatmaps || stack.heatmapViews?.length !== channels) throw new Error(`subject ${stack.subject} ${stack.phase} has no heatmaps of ${channels} views`);
      fields = Array.from({ length: channels }, (_, c) => stack.heatmaps!.subarray((k * channels + c) * area, (k * channels + c + 1) * area));
    }
    const a = augmentSlice(stack.image.subarray(k * area, (k + 1) * area), maps, size, rng, augment, fields);
    xs.set(a.image, b * area);
    a.targets.forEach((t, i) => ys[i].set(t, b * area));
    for (let c = 0; c < channels; c++) for (let o = 0; o < area; o++) hs[(b * area + o) * channels + c] = a.fields[c][o];
    if (continuous.locations) {
      if (!stack.locations) throw new Error(`subject ${stack.subject} ${stack.phase} has no slice locations`);
      ls[b] = stack.locations[k];
    }
  }
  const out = { x: tf.tensor4d(xs, [batch, size, size, 1]) } as { x: tf.Tensor4D; heatmaps?: tf.Tensor4D; locations?: tf.Tensor1D } & Record<K, tf.Tensor3D>;
  if (channels > 0) out.heatmaps = tf.tensor4d(hs, [batch, size, size, channels]);
  if (continuous.locations) out.locations = tf.tensor1d(ls);
  targets.forEach((t, i) => {
    (out as Record<string, tf.Tensor>)[t] = tf.tensor3d(ys[i], [batch, size, size], "int32");
  });
  return out;
}

/** Which slice a batch item comes from: a stack index and a slice, drawn with the batch's rng. */
export type SliceDraw = (rng: Random) => { stack: number; k: number };

/** A random stack, then a random slice of it (the default). */
export function uniformSlices(stacks: readonly SliceStack[]): SliceDraw {
  return (rng) => {
    const stack = rng.int(0, stacks.length - 1);
    return { stack, k: rng.int(0, stacks[stack].slices - 1) };
  };
}

/**
 * nnU-Net's foreground oversampling: with probability `fraction` the item is a random slice that
 * holds some foreground label, otherwise a uniform draw. Small structures (a kidney is a few
 * percent of an abdominal slice, and absent from most slices) are otherwise rarely seen.
 */
export function foregroundOversampling(stacks: readonly SliceStack[], fraction: number): SliceDraw {
  const withForeground: { stack: number; k: number }[] = [];
  stacks.forEach((st, stack) => {
    const area = st.size * st.size;
    if (!st.labels) throw new Error(`subject ${st.subject} ${st.phase}: foreground oversampling needs labels`);
    for (let k = 0; k < st.slices; k++) if (st.labels.subarray(k * area, (k + 1) * area).some((v) => v > 0)) withForeground.push({ stack, k });
  });
  const uniform = uniformSlices(stacks);
  return (rng) => (withForeground.length > 0 && rng.next() < fraction ? withForeground[rng.int(0, withForeground.length - 1)] : uniform(rng));
}
