import assert from "node:assert/strict";
import { test } from "node:test";
import { confusion, confusionPerClass, dice, diceFromConfusion, dicePerClass, meanDice } from "../src/metrics/index.js";

test("hand-computed confusion counts and Dice, every class scored one against the rest", () => {
  //                          v: 0  1  2  3  4  5
  const pred = Uint8Array.from([0, 1, 1, 2, 2, 0]);
  const ref = Uint8Array.from([0, 1, 2, 2, 0, 1]);
  // class 1: TP v1; FP v2 (pred 1, ref 2); FN v5 (pred 0, ref 1); TN v0, v3, v4.
  assert.deepEqual(confusion(pred, ref, 1), { tp: 1, fp: 1, fn: 1, tn: 3 });
  // class 2: TP v3; FP v4; FN v2.   class 0: TP v0; FP v5; FN v4.
  assert.deepEqual(confusionPerClass(pred, ref, [2, 0]), [
    { tp: 1, fp: 1, fn: 1, tn: 3 },
    { tp: 1, fp: 1, fn: 1, tn: 3 },
  ]);
  assert.deepEqual(dicePerClass(pred, ref, [0, 1, 2]), [0.5, 0.5, 0.5]);
  // 3 of 4 voxels agree on a binary mask: Dice = 2*2 / (2*2 + 1 + 0) = 0.8.
  assert.equal(dice([1, 1, 1, 0], [1, 1, 0, 0], 1), 0.8);
  assert.equal(diceFromConfusion({ tp: 3, fp: 2, fn: 4, tn: 100 }), 0.5);
});

test("identical maps: Dice 1 for every class present", () => {
  const m = Int16Array.from({ length: 1000 }, (_, i) => (i * 7) % 4);
  assert.deepEqual(dicePerClass(m, m, [1, 2, 3]), [1, 1, 1]);
  assert.equal(meanDice(m, m, [1, 2, 3]), 1);
});

test("empty conventions: both empty -> emptyBoth (default 1, or NaN); one empty -> 0 either way", () => {
  const none = new Uint8Array(10);
  const some = Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(dice(none, none, 1), 1);
  assert.ok(Number.isNaN(dice(none, none, 1, { emptyBoth: NaN })));
  assert.equal(dice(some, none, 1), 0); // false positives only
  assert.equal(dice(none, some, 1), 0); // missed structure
  assert.equal(dice(some, none, 1, { emptyBoth: NaN }), 0);
  // meanDice skips NaN classes (only possible with emptyBoth: NaN) and is NaN if nothing is left.
  assert.equal(meanDice(some, some, [1, 2]), 1); // class 2 absent from both: 1
  assert.equal(meanDice(some, some, [1, 2], { emptyBoth: NaN }), 1); // class 2 skipped
  assert.ok(Number.isNaN(meanDice(none, none, [1, 2], { emptyBoth: NaN })));
  assert.ok(Number.isNaN(meanDice(some, some, [])));
});

test("float label maps (M&Ms-2 stores labels as float64) and any label values work", () => {
  const pred = Float64Array.from([3, 3, 0, 255, 255]);
  const ref = Float32Array.from([3, 0, 0, 255, 3]);
  assert.deepEqual(dicePerClass(pred, ref, [3, 255]), [(2 * 1) / (2 + 1 + 1), (2 * 1) / (2 + 1 + 0)]);
});

test("input errors: unequal lengths and repeated labels throw", () => {
  assert.throws(() => dice(new Uint8Array(3), new Uint8Array(4), 1), /differ in length/);
  assert.throws(() => dicePerClass(new Uint8Array(3), new Uint8Array(3), [1, 1]), /listed twice/);
});
