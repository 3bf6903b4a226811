import assert from "node:assert/strict";
import { test } from "node:test";
import { differingLeaves } from "../src/experiments/settings-diff.js";

test("differingLeaves names each differing leaf by its dotted path, sorted, with both sides' JSON", () => {
  const there = { finetune: { maxSteps: 500, lr: 0.001 }, seeds: [1, 2], unet: { depth: 4 }, only: "a" };
  const here = { finetune: { maxSteps: 300, lr: 0.001 }, seeds: [1, 2, 3], unet: { depth: 4 }, extra: true };
  assert.deepEqual(differingLeaves(there, here), [
    { key: "extra", there: undefined, here: "true" },
    { key: "finetune.maxSteps", there: "500", here: "300" },
    { key: "only", there: '"a"', here: undefined },
    { key: "seeds", there: "[1,2]", here: "[1,2,3]" },
  ]);
});

test("differingLeaves: equal values, and keys set to undefined, give no difference", () => {
  assert.deepEqual(differingLeaves({ a: { b: [1] }, c: 2 }, { c: 2, a: { b: [1] } }), []);
  assert.deepEqual(differingLeaves({ a: 1, seeds: [1] }, { a: 1, seeds: undefined }).map((d) => d.key), ["seeds"]);
  assert.deepEqual(differingLeaves({ a: 1, seeds: undefined }, { a: 1 }), []);
});

test("differingLeaves: two values that are not both objects differ as a whole (key \"\")", () => {
  assert.deepEqual(differingLeaves(3, { a: 1 }), [{ key: "", there: "3", here: undefined }, { key: "a", there: undefined, here: "1" }]);
  assert.deepEqual(differingLeaves([1], [2]), [{ key: "", there: "[1]", here: "[2]" }]);
});
