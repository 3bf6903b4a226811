// How batch items are drawn: uniformly by default (unchanged draws for the cardiac papers), or
// with nnU-Net's foreground oversampling.
import assert from "node:assert/strict";
import { test } from "node:test";
import { foregroundOversampling, uniformSlices } from "../src/experiments/batches.js";
import type { SliceStack } from "../src/experiments/slice-stack.js";
import { Random } from "../src/random.js";

/** Two stacks of 10 one-pixel slices; slices 2 and 7 of the second hold foreground. */
const stacks: SliceStack[] = [0, 1].map((s) => ({
  subject: String(s), phase: "CT", size: 1, slices: 10, image: new Float32Array(10),
  labels: Uint8Array.from({ length: 10 }, (_, k) => (s === 1 && (k === 2 || k === 7) ? 1 : 0)),
  grid: { shape: [1, 1, 10], spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] },
}));
const isForeground = (d: { stack: number; k: number }) => d.stack === 1 && (d.k === 2 || d.k === 7);

test("foreground oversampling: fraction 1 draws only foreground slices; 1/3 gives 1/3 + 2/3 x 2/20", () => {
  const all = foregroundOversampling(stacks, 1);
  const rng = new Random(5);
  for (let n = 0; n < 200; n++) assert.ok(isForeground(all(rng)));
  const third = foregroundOversampling(stacks, 1 / 3);
  const r2 = new Random(6);
  let hits = 0;
  const N = 30000;
  for (let n = 0; n < N; n++) if (isForeground(third(r2))) hits++;
  const p = 1 / 3 + (2 / 3) * (2 / 20);
  // Binomial sd sqrt(N p (1-p)) ~ 84; 5 sd.
  assert.ok(Math.abs(hits - N * p) < 5 * Math.sqrt(N * p * (1 - p)), `${hits} of ${N}, expected ${(N * p).toFixed(0)}`);
  // Uniform draws: a random stack, then a random slice, as sampleBatch always drew them.
  const u = uniformSlices(stacks);
  const a = new Random(9);
  const b = new Random(9);
  for (let n = 0; n < 50; n++) {
    const d = u(a);
    const stack = b.int(0, 1);
    assert.deepEqual(d, { stack, k: b.int(0, 9) });
  }
  assert.throws(() => foregroundOversampling([{ ...stacks[0], labels: undefined }], 0.5), /needs labels/);
});
