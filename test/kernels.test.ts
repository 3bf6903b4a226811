/**
 * The wasm kernels of src/backend/kernels/ against the cpu backend (the reference).
 *
 * Every case runs three times: on cpu; on wasm with registerTrainingKernels() called before
 * tf.setBackend('wasm') (the order src/backend/wasm.ts uses); and on stock wasm after
 * unregisterTrainingKernels() (last, so a faulty stock kernel cannot disturb our results).
 * Tensors never outlive a backend switch: each run reads its outputs into plain arrays and
 * disposes everything. The metric is
 *   max|wasm - cpu| / max(1e-6, max|cpu|)   and must stay below 1e-4,
 * and our kernels must not leak wasm buffers. The stock results document what was wrong:
 * Conv3DBackpropInputV2 at every stride, Conv3DBackpropFilterV2 at stride 2, no
 * Conv2DBackpropFilter at all. The stock Conv2DBackpropInput and Tile are right (only slow; see
 * bench/kernels.ts); they are checked too because our kernels fall back to them in rare cases.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels, stockWasmKernel, unregisterTrainingKernels } from "../src/backend/kernels/index.js";
import { tileInto } from "../src/backend/kernels/tile.js";
import { Random } from "../src/random.js";

const TOLERANCE = 1e-4;

type Pad = "same" | "valid";
type Outputs = Float32Array[];

interface Case {
  family: string;
  name: string;
  /** Builds the outputs on the current backend; inputs come from `data` (same numbers on every backend). */
  run: () => tf.Tensor[];
}

interface Result {
  outputs?: Outputs;
  error?: string;
  leakedBuffers?: number;
}

// ---- inputs: the same seeded numbers on every backend --------------------------------------

const stored = new Map<string, Float32Array>();
/** Uniform(-1, 1) data of `shape`, identical for the same key on every backend. */
function data(key: string, shape: number[], dtype: "float32" | "int32" | "bool" = "float32"): tf.Tensor {
  let values = stored.get(key);
  if (values === undefined) {
    const rng = new Random(stored.size + 1);
    values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
    stored.set(key, values);
  }
  if (dtype === "float32") return tf.tensor(values, shape);
  if (dtype === "int32") return tf.tensor(Int32Array.from(values, (v) => Math.round(v * 1000)), shape, "int32");
  return tf.tensor(Uint8Array.from(values, (v) => (v > 0 ? 1 : 0)), shape, "bool");
}

const cases: Case[] = [];
const add = (family: string, name: string, run: () => tf.Tensor[]): void => {
  cases.push({ family, name, run });
};
const describePad = (pad: unknown): string => (typeof pad === "string" ? pad : JSON.stringify(pad));

// ---- 2D: raw kernels -------------------------------------------------------------------------

type Pad2D = Pad | number | tf.backend_util.ExplicitPadding;
const PADS_2D: Pad2D[] = ["same", "valid"];
let channelPick = 0;
/** Cycle through (ci, co) pairs covering 1..5 channels. */
function channels(): [number, number] {
  const pairs: [number, number][] = [[1, 4], [3, 2], [5, 1], [2, 5], [4, 3]];
  return pairs[channelPick++ % pairs.length];
}

function conv2dCase(b: number, h: number, w: number, k: number, s: number, pad: Pad2D): void {
  const [ci, co] = channels();
  const xShape: [number, number, number, number] = [b, h, w, ci];
  const wShape: [number, number, number, number] = [k, k, ci, co];
  const info = tf.backend_util.computeConv2DInfo(xShape, wShape, s, 1, pad);
  const name = `x=${xShape} k=${k} s=${s} pad=${describePad(pad)}`;
  const key = `2d ${name}`;
  const attrs = { strides: [s, s], pad, dataFormat: "NHWC" } as const;
  add("Conv2DBackpropFilter kernel", name, () => {
    const x = data(`${key} x`, xShape);
    const dy = data(`${key} dy`, info.outShape);
    return [tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: wShape }) as tf.Tensor];
  });
  add("Conv2DBackpropInput kernel", name, () => {
    const filter = data(`${key} w`, wShape);
    const dy = data(`${key} dy`, info.outShape);
    return [tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor];
  });
}

for (const b of [1, 3])
  for (const [h, w] of [[7, 9], [8, 6]])
    for (const k of [1, 2, 3])
      for (const s of [1, 2])
        for (const pad of PADS_2D) conv2dCase(b, h, w, k, s, pad);
// numeric and explicit padding reach the kernels through tf.conv2d too
conv2dCase(3, 7, 9, 3, 1, 1);
conv2dCase(1, 7, 9, 3, 2, 1);
conv2dCase(3, 7, 9, 3, 1, [[0, 0], [2, 0], [1, 2], [0, 0]]);
conv2dCase(1, 8, 6, 2, 2, [[0, 0], [0, 1], [0, 0], [0, 0]]);
// dy rows that only see bottom padding: Conv2DBackpropInput falls back to the stock kernel
conv2dCase(3, 7, 9, 3, 2, [[0, 0], [0, 4], [1, 0], [0, 0]]);

// ---- 2D: end-to-end gradients through tf.grads -----------------------------------------------

for (const b of [1, 3])
  for (const k of [1, 2, 3])
    for (const s of [1, 2])
      for (const pad of PADS_2D) {
        const [ci, co] = channels();
        const xShape: [number, number, number, number] = [b, 7, 9, ci];
        const wShape: [number, number, number, number] = [k, k, ci, co];
        const name = `x=${xShape} k=${k} s=${s} pad=${pad}`;
        add("conv2d grads (tf.grads)", name, () => {
          const x = data(`g2 ${name} x`, xShape) as tf.Tensor4D;
          const w = data(`g2 ${name} w`, wShape) as tf.Tensor4D;
          const y = tf.conv2d(x, w, s, pad);
          const dy = data(`g2 ${name} dy`, y.shape);
          return [y, ...tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, s, pad))([x, w], dy)];
        });
      }

// conv2dTranspose: forward is Conv2DBackpropInput; its gradients are Conv2D and Conv2DBackpropFilter.
const TRANSPOSED: [number, number, Pad, number, number][] = [
  // k, s, pad, output height, output width
  [2, 2, "valid", 8, 6], // the U-Net up-convolution
  [2, 2, "valid", 7, 9],
  [2, 2, "same", 7, 9],
  [3, 1, "same", 7, 9],
  [3, 1, "valid", 7, 9],
  [3, 2, "same", 8, 6],
  [3, 2, "valid", 7, 9],
  [1, 1, "valid", 5, 6],
];
for (const b of [1, 3])
  for (const [k, s, pad, h, w] of TRANSPOSED) {
    const [cOut, cIn] = channels();
    const outShape: [number, number, number, number] = [b, h, w, cOut];
    const fShape: [number, number, number, number] = [k, k, cOut, cIn];
    const inShape = tf.backend_util.computeConv2DInfo(outShape, fShape, s, 1, pad).outShape;
    inShape[3] = cIn;
    const name = `out=${outShape} k=${k} s=${s} pad=${pad}`;
    add("conv2dTranspose forward + grads", name, () => {
      const x = data(`t2 ${name} x`, inShape) as tf.Tensor4D;
      const f = data(`t2 ${name} f`, fShape) as tf.Tensor4D;
      const op = (a: tf.Tensor, g: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, g as tf.Tensor4D, outShape, s, pad);
      const y = op(x, f);
      const dy = data(`t2 ${name} dy`, y.shape);
      return [y, ...tf.grads(op)([x, f], dy)];
    });
  }

// ---- 3D ----------------------------------------------------------------------------------------

type Strides3D = [number, number, number];
function conv3dCase(b: number, k: number, s: Strides3D, pad: Pad, kernelsOnly: boolean, depth = 5): void {
  const [ci, co] = channels();
  const xShape: [number, number, number, number, number] = [b, depth, 6, 7, ci];
  const wShape: [number, number, number, number, number] = [k, k, k, ci, co];
  const info = tf.backend_util.computeConv3DInfo(xShape, wShape, s, 1, pad);
  const name = `x=${xShape} k=${k} s=${s} pad=${pad}`;
  const key = `3d ${name}`;
  if (kernelsOnly) {
    add(`Conv3DBackpropInputV2 kernel, stride ${s.join("x")}`, name, () => {
      const filter = data(`${key} w`, wShape);
      const dy = data(`${key} dy`, info.outShape);
      return [tf.engine().runKernel(tf.Conv3DBackpropInputV2, { dy, filter }, { strides: s, pad, inputShape: xShape }) as tf.Tensor];
    });
    add(`Conv3DBackpropFilterV2 kernel, stride ${s.join("x")}`, name, () => {
      const x = data(`${key} x`, xShape);
      const dy = data(`${key} dy`, info.outShape);
      return [tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x, dy }, { strides: s, pad, filterShape: wShape }) as tf.Tensor];
    });
    return;
  }
  add("conv3d grads (tf.grads)", name, () => {
    const x = data(`${key} x`, xShape) as tf.Tensor5D;
    const w = data(`${key} w`, wShape) as tf.Tensor5D;
    const op = (a: tf.Tensor, f: tf.Tensor) => tf.conv3d(a as tf.Tensor5D, f as tf.Tensor5D, s, pad);
    const y = op(x, w);
    const dy = data(`${key} dy`, y.shape);
    return [y, ...tf.grads(op)([x, w], dy)];
  });
}
const STRIDES_3D: Strides3D[] = [[1, 1, 1], [2, 2, 2], [1, 2, 2], [2, 1, 1]];
for (const b of [1, 3])
  for (const k of [1, 2, 3])
    for (const s of STRIDES_3D)
      for (const pad of ["same", "valid"] as Pad[]) conv3dCase(b, k, s, pad, true);
// a single-slice volume: with 'same' padding the outer depth taps only see padding
conv3dCase(3, 3, [1, 1, 1], "same", true, 1);
conv3dCase(1, 3, [2, 2, 2], "same", true, 1);
for (const b of [1, 3])
  for (const k of [2, 3])
    for (const s of [[1, 1, 1], [2, 2, 2]] as Strides3D[])
      for (const pad of ["same", "valid"] as Pad[]) conv3dCase(b, k, s, pad, false);

// ---- Tile --------------------------------------------------------------------------------------

const TILES: [number[], number[]][] = [
  [[1, 1, 1, 5], [3, 7, 9, 1]], // broadcast a per-channel vector over an image batch
  [[3, 1, 1, 4], [1, 6, 5, 1]],
  [[1, 5, 6, 7, 2], [3, 1, 1, 1, 1]],
  [[2, 3, 4], [2, 3, 2]], // general tiling, every axis repeated
  [[3, 4], [1, 1]],
  [[5], [4]],
  [[2, 1, 3], [1, 0, 2]], // empty output
];
for (const [shape, reps] of TILES)
  for (const dtype of ["float32", "int32", "bool"] as const) {
    const name = `${dtype} [${shape}] x [${reps}]`;
    add("Tile", name, () => [tf.tile(data(`tile ${shape}`, shape, dtype), reps)]);
  }

// ---- stock kernels we rely on, in the ways we call them ------------------------------------------

add("relied-upon stock kernels", "Conv2D dilated 2x3, explicit pads (swapped-roles filter grad)", () => {
  const x = data("dil x", [4, 11, 13, 3]) as tf.Tensor4D;
  const f = data("dil f", [3, 4, 3, 2]) as tf.Tensor4D;
  return [tf.conv2d(x, f, 1, [[0, 0], [1, 2], [0, 3], [0, 0]], "NHWC", [2, 3])];
});
add("relied-upon stock kernels", "rank-6 Transpose + BatchMatMul (patch MatMul)", () => {
  const x = data("t6 x", [2, 3, 2, 4, 2, 3]);
  const m = tf.reshape(tf.transpose(x, [2, 4, 5, 0, 1, 3]), [12, 24]);
  return [tf.matMul(m, data("t6 b", [24, 5]) as tf.Tensor2D)];
});

// ---- running ------------------------------------------------------------------------------------

function evaluate(c: Case, countBuffers: boolean): Result {
  const backend = tf.engine().backend;
  const buffersBefore = backend.numDataIds();
  tf.engine().startScope();
  let result: Result;
  try {
    result = { outputs: c.run().map((t) => Float32Array.from(t.dataSync())) };
  } catch (e) {
    result = { error: (e as Error).message };
  } finally {
    tf.engine().endScope();
  }
  if (countBuffers) result.leakedBuffers = backend.numDataIds() - buffersBefore;
  return result;
}

/** max|a-b| / max(1e-6, max|ref|), the worst over all outputs of a case. */
function relativeError(ref: Outputs, got: Outputs): number {
  assert.equal(got.length, ref.length, "number of outputs");
  let worst = 0;
  ref.forEach((r, i) => {
    const g = got[i];
    assert.equal(g.length, r.length, `output ${i} size`);
    let diff = 0;
    let scale = 0;
    for (let j = 0; j < r.length; j++) {
      diff = Math.max(diff, Number.isNaN(g[j]) ? Infinity : Math.abs(r[j] - g[j]));
      scale = Math.max(scale, Math.abs(r[j]));
    }
    worst = Math.max(worst, diff / Math.max(1e-6, scale));
  });
  return worst;
}

const reference: Result[] = [];
const stockWasm: Result[] = [];
const ours: Result[] = [];

before(async () => {
  // IS_TEST makes the engine check every kernel call for leaked backend buffers.
  tf.env().set("IS_TEST", true);
  await tf.setBackend("cpu");
  for (const c of cases) reference.push(evaluate(c, false));
  registerTrainingKernels();
  await tf.setBackend("wasm");
  for (const c of cases) ours.push(evaluate(c, true));
  unregisterTrainingKernels();
  for (const c of cases) stockWasm.push(evaluate(c, false));
});

const families = [...new Set(cases.map((c) => c.family))];

describe("wasm training kernels match the cpu backend", () => {
  for (const family of families) {
    test(family, (t) => {
      let worst = 0;
      let worstName = "";
      for (const [i, c] of cases.entries()) {
        if (c.family !== family) continue;
        const ref = reference[i];
        const got = ours[i];
        assert.ok(ref.outputs, `cpu failed on ${c.name}: ${ref.error}`);
        assert.ok(got.outputs, `wasm failed on ${c.name}: ${got.error}`);
        const err = relativeError(ref.outputs, got.outputs);
        assert.ok(err < TOLERANCE, `${family} ${c.name}: relative error ${err.toExponential(2)}`);
        assert.equal(got.leakedBuffers, 0, `${family} ${c.name}: leaked wasm buffers`);
        if (err >= worst) [worst, worstName] = [err, c.name];
      }
      t.diagnostic(`max relative error ${worst.toExponential(2)} (${worstName})`);
    });
  }
});

describe("the stock wasm kernels we replaced", () => {
  /** Worst stock error over the cases of a family (Infinity when the stock kernel threw). */
  function stockError(family: string): { worst: number; errors: string[] } {
    let worst = 0;
    const errors: string[] = [];
    for (const [i, c] of cases.entries()) {
      if (c.family !== family) continue;
      const got = stockWasm[i];
      if (got.outputs === undefined) {
        errors.push(got.error ?? "");
        worst = Infinity;
      } else worst = Math.max(worst, relativeError(reference[i].outputs!, got.outputs));
    }
    return { worst, errors };
  }

  test("Conv2DBackpropFilter is missing", () => {
    const { errors } = stockError("Conv2DBackpropFilter kernel");
    assert.ok(errors.length > 0 && errors.every((e) => /not registered|Conv2DBackpropFilter/.test(e)), errors[0]);
  });

  for (const stride of ["1x1x1", "2x2x2", "1x2x2", "2x1x1"]) {
    test(`Conv3DBackpropInputV2 is wrong at stride ${stride}`, (t) => {
      const { worst, errors } = stockError(`Conv3DBackpropInputV2 kernel, stride ${stride}`);
      const shown = errors.length ? `${errors.length} cases threw: ${errors[0]}` : Number.isFinite(worst) ? worst.toExponential(2) : "NaN in the output";
      t.diagnostic(`stock max relative error ${shown}`);
      assert.ok(worst > 0.1, `stock error ${worst} (fixed upstream? then this replacement may be dropped)`);
    });
  }

  test("Conv3DBackpropFilterV2 is right at stride 1 and wrong at stride > 1", (t) => {
    const unit = stockError("Conv3DBackpropFilterV2 kernel, stride 1x1x1").worst;
    const strided = ["2x2x2", "1x2x2", "2x1x1"].map((s) => stockError(`Conv3DBackpropFilterV2 kernel, stride ${s}`).worst);
    t.diagnostic(`stock max relative error: stride 1 ${unit.toExponential(2)}, strides 2x2x2/1x2x2/2x1x1 ${strided.map((e) => e.toExponential(2)).join("/")}`);
    assert.ok(unit < TOLERANCE);
    for (const e of strided) assert.ok(e > 0.1, `stock error ${e}`);
  });

  test("Conv2DBackpropInput and Tile are right (replaced for speed only; still our fallbacks)", () => {
    for (const family of ["Conv2DBackpropInput kernel", "Tile"]) {
      const { worst } = stockError(family);
      assert.ok(worst < TOLERANCE, `${family}: stock error ${worst}`);
    }
  });
});

test("tileInto handles scalars and empty outputs", () => {
  const out = new Float32Array(1);
  tileInto(Float32Array.of(7), [], [], out);
  assert.deepEqual([...out], [7]);
  tileInto(new Float32Array(0), [0, 2], [3, 1], new Float32Array(0));
  const row = new Int32Array(6);
  tileInto(Int32Array.of(1, 2), [1, 2], [1, 3], row);
  assert.deepEqual([...row], [1, 2, 1, 2, 1, 2]);
});

test("registerTrainingKernels is idempotent and unregisterTrainingKernels restores the stock kernels", () => {
  const names = [tf.Conv2DBackpropInput, tf.Conv3DBackpropInputV2, tf.Conv3DBackpropFilterV2, tf.Tile];
  registerTrainingKernels();
  const installed = names.map((n) => tf.getKernel(n, "wasm"));
  registerTrainingKernels();
  names.forEach((n, i) => {
    assert.equal(tf.getKernel(n, "wasm"), installed[i], `${n} re-registered`);
    assert.notEqual(installed[i], stockWasmKernel(n), `${n} is ours`);
  });
  assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"));
  unregisterTrainingKernels();
  for (const n of names) assert.equal(tf.getKernel(n, "wasm"), stockWasmKernel(n));
  assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"), undefined);
  registerTrainingKernels();
});
