/**
 * Unlabelled image batches for the generic pretexts (src/pretext/generic.ts), drawn from the
 * stacks a host paper already prepared for segmentation, so a pretext sees exactly the images,
 * grid and normalisation its segmentation network will see, and never a label.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../random.js";
import type { SliceStack } from "./slice-stack.js";

/** All stacks on one in-plane size; returns it. */
function commonSize(stacks: readonly SliceStack[], where: string): number {
  if (stacks.length === 0) throw new Error(`${where}: no unlabelled stacks to pretrain on`);
  const size = stacks[0].size;
  const other = stacks.find((s) => s.size !== size);
  if (other) throw new Error(`${where}: stacks differ in size (${other.subject} ${other.phase}: ${other.size}, ${stacks[0].subject}: ${size})`);
  return size;
}

/** Random slices of random stacks: [batch, size, size, 1]. */
export function sliceSampler(stacks: readonly SliceStack[], where: string): (rng: Random, batch: number) => tf.Tensor4D {
  const size = commonSize(stacks, where);
  const area = size * size;
  return (rng, batch) => {
    const x = new Float32Array(batch * area);
    for (let i = 0; i < batch; i++) {
      const s = stacks[rng.int(0, stacks.length - 1)];
      const k = rng.int(0, s.slices - 1);
      x.set(s.image.subarray(k * area, (k + 1) * area), i * area);
    }
    return tf.tensor4d(x, [batch, size, size, 1]);
  };
}

/**
 * Random crops of `crop` = [depth, height, width] voxels from random stacks (each stack read as
 * a volume of `slices` x size x size): [batch, depth, height, width, 1]. A crop larger than a
 * stack is an error naming both.
 */
export function cropSampler(stacks: readonly SliceStack[], crop: readonly [number, number, number], where: string): (rng: Random, batch: number) => tf.Tensor5D {
  const size = commonSize(stacks, where);
  const [cd, ch, cw] = crop;
  for (const s of stacks) {
    if (cd > s.slices || ch > size || cw > size) throw new Error(`${where}: crop ${cd}x${ch}x${cw} does not fit ${s.subject} (${s.slices}x${size}x${size})`);
  }
  const per = cd * ch * cw;
  return (rng, batch) => {
    const x = new Float32Array(batch * per);
    for (let i = 0; i < batch; i++) {
      const s = stacks[rng.int(0, stacks.length - 1)];
      const z0 = rng.int(0, s.slices - cd);
      const y0 = rng.int(0, size - ch);
      const x0 = rng.int(0, size - cw);
      let o = i * per;
      for (let z = z0; z < z0 + cd; z++) {
        for (let y = y0; y < y0 + ch; y++) {
          const row = (z * size + y) * size + x0;
          x.set(s.image.subarray(row, row + cw), o);
          o += cw;
        }
      }
    }
    return tf.tensor5d(x, [batch, cd, ch, cw, 1]);
  };
}
