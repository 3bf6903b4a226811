/**
 * Seeded 2D training batches from prepared stacks: a random slice of a random stack, augmented
 * with a known map applied to the image and to its target maps alike.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../random.js";
import { augmentSlice, type AugmentOptions } from "../transforms/augment.js";
import type { Stack } from "./cardiac-stacks.js";

/** Which per-pixel target of a stack a batch carries. */
export type TargetKind = "labels" | "positions";

/** x: [batch, size, size, 1] float32; y: [batch, size, size] int32. */
export function sampleBatch(stacks: Stack[], target: TargetKind, batch: number, rng: Random, augment: AugmentOptions): { x: tf.Tensor4D; y: tf.Tensor3D } {
  if (stacks.length === 0) throw new Error(`no stacks to draw a ${target} batch from`);
  const size = stacks[0].size;
  const area = size * size;
  const xs = new Float32Array(batch * area);
  const ys = new Int32Array(batch * area);
  for (let b = 0; b < batch; b++) {
    const stack = stacks[rng.int(0, stacks.length - 1)];
    const k = rng.int(0, stack.slices - 1);
    const targets = stack[target];
    if (!targets) throw new Error(`subject ${stack.subject} ${stack.phase} has no ${target}`);
    const a = augmentSlice(stack.image.subarray(k * area, (k + 1) * area), [targets.subarray(k * area, (k + 1) * area)], size, rng, augment);
    xs.set(a.image, b * area);
    ys.set(a.targets[0], b * area);
  }
  return { x: tf.tensor4d(xs, [batch, size, size, 1]), y: tf.tensor3d(ys, [batch, size, size], "int32") };
}
