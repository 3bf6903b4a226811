import assert from "node:assert/strict";
import { test } from "node:test";
import { Random } from "../src/random.js";

test("the same seed gives the same stream; different seeds differ", () => {
  const a = new Random(42);
  const b = new Random(42);
  const c = new Random(43);
  const xa = Array.from({ length: 100 }, () => a.next());
  const xb = Array.from({ length: 100 }, () => b.next());
  const xc = Array.from({ length: 100 }, () => c.next());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  assert.ok(xa.every((x) => x >= 0 && x < 1));
});

test("uniform and normal draws have the expected moments", () => {
  const r = new Random(7);
  const n = 200_000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  for (let i = 0; i < n; i++) {
    su += r.next();
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  // Standard errors: uniform mean 0.00065, normal mean 0.0022, normal variance ~0.0032.
  assert.ok(Math.abs(su / n - 0.5) < 0.004);
  assert.ok(Math.abs(sn / n) < 0.012);
  assert.ok(Math.abs(sn2 / n - 1) < 0.02);
});

test("int covers its inclusive range and shuffle is a permutation", () => {
  const r = new Random(3);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(r.int(2, 5));
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
  const items = Array.from({ length: 50 }, (_, i) => i);
  const s = r.shuffle(items);
  assert.deepEqual(s.slice().sort((x, y) => x - y), items);
  assert.notDeepEqual(s, items);
});

test("a non-finite seed is rejected", () => {
  assert.throws(() => new Random(NaN), /seed must be a finite number/);
});
