import assert from "node:assert/strict";
import { test } from "node:test";
import { holmAdjust } from "../src/metrics/multiple-comparisons.js";

const close = (a: number[], b: number[]) => a.forEach((x, i) => assert.ok(Number.isNaN(b[i]) ? Number.isNaN(x) : Math.abs(x - b[i]) < 1e-12, `${i}: ${x} vs ${b[i]}`));

test("holmAdjust: hand-computed step-down values, returned in the input's order", () => {
  // sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> running max 0.06)
  close(holmAdjust([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06]);
  // the running maximum keeps adjusted values ordered like the raw ones: 0.5 x 1 < 0.4 x 2
  close(holmAdjust([0.5, 0.001, 0.4]), [0.8, 0.003, 0.8]);
  // capped at 1
  close(holmAdjust([0.7, 0.6]), [1, 1]);
  close(holmAdjust([0.2]), [0.2]);
  assert.deepEqual(holmAdjust([]), []);
});

test("holmAdjust: a NaN p-value stays NaN and is not counted in the family size", () => {
  close(holmAdjust([0.01, NaN, 0.02]), [0.02, NaN, 0.02]);
});

test("holmAdjust rejects exactly what Holm's sequential procedure rejects (alpha 0.05)", () => {
  // Sequential form: compare the i-th smallest with alpha / (m - i) and stop at the first failure.
  const ps = [0.004, 0.03, 0.009, 0.2, 0.0115, 0.049];
  const sorted = [...ps].sort((a, b) => a - b);
  const rejected = new Set<number>();
  for (let i = 0; i < sorted.length && sorted[i] <= 0.05 / (sorted.length - i); i++) rejected.add(sorted[i]);
  assert.deepEqual(holmAdjust(ps).map((q) => q <= 0.05), ps.map((p) => rejected.has(p)));
  // thresholds 0.05/6, 0.05/5, 0.05/4, 0.05/3: the fourth smallest, 0.03, fails
  assert.deepEqual([...rejected].sort(), [0.004, 0.009, 0.0115]);
});
