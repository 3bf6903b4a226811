/**
 * Seeded 2D training batches from prepared stacks: a random slice of a random stack, augmented
 * with a known map applied to the image and to all its target maps alike.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../random.js";
import { augmentSlice, type AugmentOptions } from "../transforms/augment.js";
import type { Stack } from "./cardiac-stacks.js";

/** Which per-pixel target of a stack a batch carries. */
export type TargetKind = "labels" | "positions";

/**
 * x: [batch, size, size, 1] float32, and one [batch, size, size] int32 tensor per requested
 * target (e.g. labels and positions of the same augmented slices, for multi-task training).
 */
export function sampleBatch<K extends TargetKind>(stacks: Stack[], targets: K[], batch: number, rng: Random, augment: AugmentOptions): { x: tf.Tensor4D } & Record<K, tf.Tensor3D> {
  if (stacks.length === 0) throw new Error(`no stacks to draw a ${targets.join("+")} batch from`);
  const size = stacks[0].size;
  const area = size * size;
  const xs = new Float32Array(batch * area);
  const ys = targets.map(() => new Int32Array(batch * area));
  for (let b = 0; b < batch; b++) {
    const stack = stacks[rng.int(0, stacks.length - 1)];
    const k = rng.int(0, stack.slices - 1);
    const maps = targets.map((t) => {
      const m = stack[t];
      if (!m) throw new Error(`subject ${stack.subject} ${stack.phase} has no ${t}`);
      return m.subarray(k * area, (k + 1) * area);
    });
    const a = augmentSlice(stack.image.subarray(k * area, (k + 1) * area), maps, size, rng, augment);
    xs.set(a.image, b * area);
    a.targets.forEach((t, i) => ys[i].set(t, b * area));
  }
  const out = { x: tf.tensor4d(xs, [batch, size, size, 1]) } as { x: tf.Tensor4D } & Record<K, tf.Tensor3D>;
  targets.forEach((t, i) => {
    (out as Record<string, tf.Tensor>)[t] = tf.tensor3d(ys[i], [batch, size, size], "int32");
  });
  return out;
}
