/**
 * Concat, SplitV, MaxPoolGrad / MaxPool3DGrad, Sum (merged axes) and Identity on wasm (native routes on and off)
 * against the cpu backend: the same seeded inputs, outputs compared exactly (copies, and pooling
 * gradients where windows do not overlap; overlapping windows sum in another order: 1e-6
 * relative), and no leaked wasm buffers. The stock wasm MaxPoolGrad fails the negative-window
 * case (see src/backend/kernels/max-pool-grad.ts).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels } from "../src/backend/kernels/index.js";
import { setNativeEnabled } from "../src/backend/native/addon.js";
import { addonMissing, skipWithoutAddon } from "./helpers/native.js";
import { Random } from "../src/random.js";

interface Case {
  name: string;
  run: () => tf.Tensor[];
}

const values = new Map<string, Float32Array>();
function data(key: string, shape: number[], dtype: "float32" | "int32" = "float32", ties = false): tf.Tensor {
  let v = values.get(key);
  if (v === undefined) {
    const rng = new Random(values.size + 11);
    // ties: few distinct values, so pooling windows have equal maxima (first one must win)
    v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (ties ? Math.floor(rng.uniform(0, 3)) : rng.uniform(-1, 1)));
    values.set(key, v);
  }
  return dtype === "float32" ? tf.tensor(v, shape) : tf.tensor(Int32Array.from(v, (x) => Math.round(x * 1000)), shape, "int32");
}

const cases: Case[] = [];
for (const axis of [0, 1, 2, 3, -1])
  for (const dtype of ["float32", "int32"] as const)
    cases.push({
      name: `concat 3 tensors axis ${axis} ${dtype}`,
      run: () => {
        const shapes = [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]].map((s, i) => s.map((d, j) => (j === (axis + 4) % 4 ? d + i : d)));
        return [tf.concat(shapes.map((s, i) => data(`c${axis}${dtype}${i}`, s, dtype)), axis)];
      },
    });
for (const axis of [1, 3])
  cases.push({
    name: `split axis ${axis} sizes [1,3,2]`,
    run: () => tf.split(data(`split${axis}`, [2, 6, 5, 6]), [1, 3, 2], axis),
  });
cases.push({ name: "split into 3 equal int32", run: () => tf.split(data("split-int", [3, 4, 9], "int32"), 3, -1) });
cases.push({
  name: "concat gradient (tf.grads)",
  run: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.concat([a, b], -1).square().sum())([data("ga", [2, 5, 5, 3]), data("gb", [2, 5, 5, 4])]),
});
for (const [k, s, pad, ties] of [[2, 2, "valid", false], [3, 2, "same", false], [3, 1, "same", true], [2, 2, "same", true], [3, 3, "valid", false]] as const)
  cases.push({
    name: `maxPool grad k${k} s${s} ${pad}${ties ? " ties" : ""}`,
    run: () => [tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, k, s, pad).mul(data(`w${k}${s}${pad}`, [1])).sum())(data(`p${k}${s}${pad}${ties}`, [2, 7, 8, 3], "float32", ties))],
  });
for (const [k, s, pad] of [[2, 2, "valid"], [3, 2, "same"], [2, 1, "same"]] as const)
  cases.push({
    name: `maxPool3d grad k${k} s${s} ${pad}`,
    run: () => {
      const x = data(`q${k}${s}${pad}`, [2, 5, 6, 7, 3]);
      const up = data(`u${k}${s}${pad}`, tf.maxPool3d(x as tf.Tensor5D, k, s, pad).shape);
      return [tf.grad((t: tf.Tensor) => tf.maxPool3d(t as tf.Tensor5D, k, s, pad).mul(up).sum())(x)];
    },
  });
for (const [shape, axis, keepDims] of [[[2, 5, 4, 3, 6], [0, 1, 2, 3], false], [[2, 5, 4, 3, 6], [0, 1, 2, 3], true], [[2, 5, 4, 3, 6], [1, 2], false], [[2, 5, 4, 3, 6], [0, 4], true], [[3, 4, 5], [2], false], [[2, 3, 4, 5, 6], [0, 2, 3], false]] as const)
  cases.push({
    name: `sum of [${shape}] over [${axis}]${keepDims ? " keepDims" : ""}`,
    run: () => [tf.sum(data(`sum${shape}${axis}`, [...shape]), [...axis], keepDims)],
  });
cases.push({
  name: "maxPool grad, a window whose maximum is negative",
  run: () => [tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid").sum())(tf.tensor([0.79, -0.42, 0.51, 0.45, -0.49, -0.96, 0.59, -0.58, -0.45, -0.75, -0.06, 0.98, -0.51, -0.84, 0.7, -0.37], [1, 4, 4, 1]))],
});
cases.push({
  name: "identity shares and survives disposal of its input",
  run: () => {
    const x = data("id", [3, 4]).add(0);
    const y = tf.clone(x);
    x.dispose();
    return [y.mul(2)];
  },
});

function evaluate(c: Case): { out?: Float32Array[]; error?: string; leaked: number } {
  const before = tf.memory().numTensors;
  let out: Float32Array[] | undefined;
  let error: string | undefined;
  try {
    const ts = tf.tidy(c.run);
    out = ts.map((t) => Float32Array.from(t.dataSync()));
    ts.forEach((t) => t.dispose());
  } catch (e) {
    error = (e as Error).message;
  }
  return { out, error, leaked: tf.memory().numTensors - before };
}

const reference: ReturnType<typeof evaluate>[] = [];
const nativeRuns: ReturnType<typeof evaluate>[] = [];
const wasmRuns: ReturnType<typeof evaluate>[] = [];
const missing = addonMissing();

before(async () => {
  tf.env().set("IS_TEST", true);
  await tf.setBackend("cpu");
  for (const c of cases) reference.push(evaluate(c));
  registerTrainingKernels();
  await tf.setBackend("wasm");
  for (const c of cases) nativeRuns.push(evaluate(c));
  setNativeEnabled(false);
  for (const c of cases) wasmRuns.push(evaluate(c));
  setNativeEnabled(true);
});

for (const [label, runs] of [["native", nativeRuns], ["wasm", wasmRuns]] as const) {
  test(`${label} copies and pooling gradients equal the cpu backend exactly`, (t) => {
    if (label === "native" && skipWithoutAddon(t, missing)) return;
    for (const [i, c] of cases.entries()) {
      const ref = reference[i];
      const got = runs[i];
      assert.ok(ref.out, `cpu failed on ${c.name}: ${ref.error}`);
      assert.ok(got.out, `${label} failed on ${c.name}: ${got.error}`);
      assert.equal(got.leaked, 0, `${c.name} leaked tensors`);
      assert.equal(got.out.length, ref.out.length, c.name);
      for (let j = 0; j < ref.out.length; j++) {
        // overlapping pooling windows and sums add in another order than cpu
        const overlapping = /maxPool.*(k3 s[12]|k2 s1)|^sum/.test(c.name);
        if (!overlapping) assert.deepEqual(got.out[j], ref.out[j], `${c.name}, output ${j}`);
        else {
          const scale = Math.max(1e-6, ...ref.out[j].map(Math.abs));
          const worst = Math.max(...ref.out[j].map((v, k) => Math.abs(v - got.out![j][k])));
          assert.ok(worst / scale < 1e-6, `${c.name}, output ${j}: relative error ${worst / scale}`);
        }
      }
    }
  });
}
