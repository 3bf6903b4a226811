// Segmentation losses in 2D and 3D against a hand computation in plain arrays: softmax
// cross-entropy averaged over voxels, and 1 - mean soft Dice over the foreground classes with
// sums over the whole batch.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend, tf } from "../src/backend/index.js";
import { Random } from "../src/random.js";
import { crossEntropy, softDice } from "../src/train/losses.js";

before(async () => {
  await initBackend({ quiet: true });
});

/** Softmax of each voxel's logits (classes last), in plain numbers. */
function softmaxRows(logits: Float32Array, classes: number): number[][] {
  const rows: number[][] = [];
  for (let o = 0; o < logits.length; o += classes) {
    const z = Array.from(logits.subarray(o, o + classes));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    rows.push(e.map((v) => v / s));
  }
  return rows;
}

function byHand(logits: Float32Array, labels: Int32Array, classes: number) {
  const p = softmaxRows(logits, classes);
  const ce = p.reduce((t, row, i) => t - Math.log(row[labels[i]]), 0) / p.length;
  const dice: number[] = [];
  for (let c = 1; c < classes; c++) {
    let inter = 0;
    let sum = 0;
    p.forEach((row, i) => {
      const y = labels[i] === c ? 1 : 0;
      inter += row[c] * y;
      sum += row[c] + y;
    });
    dice.push((2 * inter + 1) / (sum + 1));
  }
  return { ce, dice: 1 - dice.reduce((a, b) => a + b, 0) / dice.length };
}

for (const shape of [[2, 5, 6], [2, 3, 4, 5]]) {
  test(`losses: ${shape.length === 3 ? "2D" : "3D"} logits ${[...shape, 4].join("x")} match the hand computation`, () => {
    const classes = 4;
    const rng = new Random(shape.length);
    const voxels = shape.reduce((a, b) => a * b, 1);
    const logits = Float32Array.from({ length: voxels * classes }, () => rng.normal(0, 2));
    const labels = Int32Array.from({ length: voxels }, () => rng.int(0, classes - 1));
    const expected = byHand(logits, labels, classes);
    const lt = tf.tensor(logits, [...shape, classes]);
    const yt = tf.tensor(labels, shape, "int32");
    const ce = crossEntropy(lt, yt);
    const dice = softDice(lt, yt);
    assert.ok(Math.abs(ce.dataSync()[0] - expected.ce) < 1e-4, `cross-entropy ${ce.dataSync()[0]} vs ${expected.ce}`);
    assert.ok(Math.abs(dice.dataSync()[0] - expected.dice) < 1e-4, `soft Dice loss ${dice.dataSync()[0]} vs ${expected.dice}`);
    tf.dispose([lt, yt, ce, dice]);
  });
}
