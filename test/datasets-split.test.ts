import assert from "node:assert/strict";
import { test } from "node:test";
import { splitSubjects } from "../src/datasets/split.js";

const ids = Array.from({ length: 23 }, (_, n) => String(n + 1).padStart(3, "0"));

test("splits are deterministic, disjoint, and independent of the input order", () => {
  const spec = { fractions: { train: 0.7, val: 0.1, test: 0.2 } };
  const a = splitSubjects(ids, spec, 42);
  const b = splitSubjects([...ids].reverse(), spec, 42);
  assert.deepEqual(a, b);
  assert.deepEqual([a.train.length, a.val.length, a.test.length, a.unused.length], [16, 2, 5, 0]); // 16.1, 2.3, 4.6
  const all = [...a.train, ...a.val, ...a.test];
  assert.equal(new Set(all).size, ids.length, "disjoint and complete");
  assert.deepEqual([...all].sort(), ids);
  const c = splitSubjects(ids, spec, 43);
  assert.notDeepEqual(c.train, a.train, "another seed, another split");
});

test("counts leave the rest unused; training prefixes are nested budgets", () => {
  const s = splitSubjects(ids, { counts: { train: 10, val: 3, test: 5 } }, 1);
  assert.deepEqual([s.train.length, s.val.length, s.test.length, s.unused.length], [10, 3, 5, 5]);
  assert.equal(new Set([...s.train, ...s.val, ...s.test, ...s.unused]).size, 23);
  // The same seed and a larger training count extend, not reshuffle, the training list.
  const bigger = splitSubjects(ids, { counts: { train: 15, val: 0, test: 0 } }, 1);
  assert.deepEqual(bigger.train.slice(0, 10), s.train);
  // Fractions below 1 in total round the total too.
  const partial = splitSubjects(ids, { fractions: { train: 0.5, val: 0, test: 0.1 } }, 1);
  assert.equal(partial.train.length + partial.test.length, Math.round(23 * 0.6));
  assert.equal(partial.val.length, 0);
});

test("bad specs are refused with a clear message", () => {
  assert.throws(() => splitSubjects(ids, { counts: { train: 20, val: 3, test: 1 } }, 0), /ask for 24 subjects .* only 23/);
  assert.throws(() => splitSubjects(ids, { counts: { train: 1.5, val: 0, test: 0 } }, 0), /train count 1.5/);
  assert.throws(() => splitSubjects(ids, { fractions: { train: 0.8, val: 0.2, test: 0.2 } }, 0), /sum to 1.2/);
  assert.throws(() => splitSubjects(ids, { fractions: { train: -0.1, val: 0, test: 0 } }, 0), /train fraction -0.1/);
  assert.throws(() => splitSubjects(["a", "b", "a"], { fractions: { train: 1, val: 0, test: 0 } }, 0), /'a' is listed twice/);
  assert.deepEqual(splitSubjects([], { fractions: { train: 0.8, val: 0.1, test: 0.1 } }, 0), { seed: 0, train: [], val: [], test: [], unused: [] });
});
