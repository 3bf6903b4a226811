/**
 * The wasm kernels of src/backend/kernels/ and src/backend/native/ against the cpu backend (the
 * reference).
 *
 * Every case runs four times: on cpu; on wasm with registerTrainingKernels() called before
 * tf.setBackend('wasm') (the order src/backend/wasm.ts uses), first with the oneDNN addon
 * (native/dnnl_kernels.cc, the default when it loads) and then with setNativeEnabled(false) (the
 * pure-wasm routes the addon falls back to); and on stock wasm after unregisterTrainingKernels()
 * (last, so a faulty stock kernel cannot disturb our results). Tensors never outlive a backend
 * switch: each run reads its outputs into plain arrays and disposes everything. The metric is
 *   max|wasm - cpu| / max(1e-6, max|cpu|)   and must stay below 1e-4,
 * in both of our passes, and our kernels must not leak wasm buffers. When the addon is not
 * loaded the native pass is skipped (with the reason), except under CI=true or
 * ANATOMY_SSL_NATIVE=1, where a missing addon is a failure. The stock results document what was
 * wrong: Conv3DBackpropInputV2 at every stride, Conv3DBackpropFilterV2 at stride 2, no
 * Conv2DBackpropFilter at all. The stock Conv2DBackpropInput and Tile are right (only slow; see
 * bench/kernels.ts); they are checked too because our kernels fall back to them in rare cases.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels, stockWasmKernel, unregisterTrainingKernels } from "../src/backend/kernels/index.js";
import { nativeKernels, setNativeEnabled } from "../src/backend/native/addon.js";
import { addonMissing, skipWithoutAddon } from "./helpers/native.js";
import { conv2dGeometry, conv3dGeometry } from "../src/backend/native/conv-kernels.js";
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
  /** A gradient geometry this case must have run through oneDNN in the native pass. */
  probe?: Probe;
  /** Our kernels may throw on this case instead (inputs stock wasm rejects); a result must be right. */
  mayReject?: boolean;
}

/** addon.implementation() is "" until a backward primitive for the geometry has been created. */
interface Probe {
  kind: "backwardData" | "backwardFilter";
  geometry: number[];
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
const add = (family: string, name: string, run: () => tf.Tensor[], extra: Pick<Case, "probe" | "mayReject"> = {}): void => {
  cases.push({ family, name, run, ...extra });
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
  const geometry = conv2dGeometry(xShape, wShape, s, 1, pad);
  add("Conv2DBackpropFilter kernel", name, () => {
    const x = data(`${key} x`, xShape);
    const dy = data(`${key} dy`, info.outShape);
    return [tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: wShape }) as tf.Tensor];
  }, { probe: { kind: "backwardFilter", geometry } });
  add("Conv2DBackpropInput kernel", name, () => {
    const filter = data(`${key} w`, wShape);
    const dy = data(`${key} dy`, info.outShape);
    return [tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor];
  }, { probe: { kind: "backwardData", geometry } });
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

// ---- 2D forward: Conv2D and FusedConv2D (the native routes' own kernels) ---------------------

function conv2dForwardCase(b: number, h: number, w: number, k: number, s: number, pad: Pad2D, dilation = 1): void {
  const [ci, co] = channels();
  const xShape: [number, number, number, number] = [b, h, w, ci];
  const wShape: [number, number, number, number] = [k, k, ci, co];
  const name = `x=${xShape} k=${k} s=${s} d=${dilation} pad=${describePad(pad)}`;
  add("Conv2D forward", name, () => {
    const x = data(`f2 ${name} x`, xShape) as tf.Tensor4D;
    const f = data(`f2 ${name} w`, wShape) as tf.Tensor4D;
    return [tf.conv2d(x, f, s, pad, "NHWC", dilation)];
  });
}
for (const b of [1, 2])
  for (const [h, w] of [[7, 9], [8, 6]])
    for (const k of [1, 2, 3])
      for (const s of [1, 2])
        for (const pad of PADS_2D) conv2dForwardCase(b, h, w, k, s, pad);
// dilation 2 (tfjs allows it only at stride 1), explicit and numeric paddings
for (const k of [2, 3])
  for (const pad of [...PADS_2D, 1, [[0, 0], [2, 1], [0, 3], [0, 0]]] as Pad2D[]) conv2dForwardCase(2, 9, 8, k, 1, pad, 2);
conv2dForwardCase(2, 7, 9, 3, 1, [[0, 0], [2, 0], [1, 2], [0, 0]]);
conv2dForwardCase(1, 8, 6, 3, 2, [[0, 0], [0, 4], [1, 0], [0, 0]]);
conv2dForwardCase(2, 7, 9, 2, 2, 1);

type Activation = "linear" | "relu" | "elu";
interface FusedSpec {
  b: number;
  h: number;
  w: number;
  k: number;
  s: number;
  pad: Pad2D;
  dilation?: number;
}
const FUSED: FusedSpec[] = [
  { b: 1, h: 7, w: 9, k: 3, s: 1, pad: "same" }, // the U-Net's 3x3 conv
  { b: 2, h: 8, w: 6, k: 3, s: 2, pad: "valid" },
  { b: 2, h: 7, w: 9, k: 1, s: 1, pad: "valid" }, // the U-Net's 1x1 head
  { b: 1, h: 8, w: 6, k: 2, s: 2, pad: "same" },
  { b: 2, h: 9, w: 8, k: 3, s: 1, pad: [[0, 0], [2, 1], [0, 3], [0, 0]], dilation: 2 },
];
for (const activation of ["linear", "relu", "elu"] as Activation[])
  for (const { b, h, w, k, s, pad, dilation = 1 } of FUSED)
    for (const withBias of [true, false]) {
      const [ci, co] = channels();
      const xShape: [number, number, number, number] = [b, h, w, ci];
      const wShape: [number, number, number, number] = [k, k, ci, co];
      const name = `x=${xShape} k=${k} s=${s} d=${dilation} pad=${describePad(pad)} ${withBias ? "bias" : "no bias"}`;
      const family = activation === "elu" ? "FusedConv2D forward, elu (falls back)" : `FusedConv2D forward, ${activation}`;
      add(family, name, () => {
        const x = data(`fc ${name} x`, xShape) as tf.Tensor4D;
        const filter = data(`fc ${name} w`, wShape) as tf.Tensor4D;
        const bias = withBias ? data(`fc ${name} b`, [co]) : undefined;
        return [tf.fused.conv2d({ x, filter, strides: s, pad, dilations: dilation, bias, activation })];
      });
    }
// A bias that broadcasts ([1] against 4 channels): tf.fused.conv2d and cpu accept it, stock wasm
// rejects it; ours may reject it too but must not compute anything else.
add("FusedConv2D forward, broadcast bias (right or rejected)", "x=2,7,9,3 k=3 s=1 pad=same bias=[1] relu", () => {
  const x = data("fcb x", [2, 7, 9, 3]) as tf.Tensor4D;
  const filter = data("fcb w", [3, 3, 3, 4]) as tf.Tensor4D;
  return [tf.fused.conv2d({ x, filter, strides: 1, pad: "same", bias: data("fcb b", [1]), activation: "relu" })];
}, { mayReject: true });

// Gradients through tf.fused.conv2d with a bias (the engine differentiates the fused op itself:
// dy * relu'(y), then Conv2DBackpropInput, Conv2DBackpropFilter and a bias sum).
for (const activation of ["linear", "relu"] as Activation[])
  for (const { b, h, w, k, s, pad } of FUSED.filter((f) => f.dilation === undefined)) {
    const [ci, co] = channels();
    const xShape: [number, number, number, number] = [b, h, w, ci];
    const wShape: [number, number, number, number] = [k, k, ci, co];
    const name = `x=${xShape} k=${k} s=${s} pad=${describePad(pad)} ${activation}`;
    add("fused conv2d + bias grads (tf.grads)", name, () => {
      const x = data(`fg ${name} x`, xShape) as tf.Tensor4D;
      const filter = data(`fg ${name} w`, wShape) as tf.Tensor4D;
      const bias = data(`fg ${name} b`, [co]);
      const op = (a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
        tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, strides: s, pad, bias: c, activation });
      const y = op(x, filter, bias);
      const dy = data(`fg ${name} dy`, y.shape);
      return [y, ...tf.grads(op)([x, filter, bias], dy)];
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
    const geometry = conv3dGeometry(xShape, wShape, s, 1, pad);
    add(`Conv3DBackpropInputV2 kernel, stride ${s.join("x")}`, name, () => {
      const filter = data(`${key} w`, wShape);
      const dy = data(`${key} dy`, info.outShape);
      return [tf.engine().runKernel(tf.Conv3DBackpropInputV2, { dy, filter }, { strides: s, pad, inputShape: xShape }) as tf.Tensor];
    }, { probe: { kind: "backwardData", geometry } });
    add(`Conv3DBackpropFilterV2 kernel, stride ${s.join("x")}`, name, () => {
      const x = data(`${key} x`, xShape);
      const dy = data(`${key} dy`, info.outShape);
      return [tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x, dy }, { strides: s, pad, filterShape: wShape }) as tf.Tensor];
    }, { probe: { kind: "backwardFilter", geometry } });
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

// Conv3D forward: strides 1 and 2, odd and even sizes, 1-5 channels.
for (const b of [1, 2])
  for (const [d, h, w] of [[3, 5, 7], [4, 6, 5]])
    for (const k of [1, 2, 3])
      for (const s of [1, 2])
        for (const pad of ["same", "valid"] as Pad[]) {
          const [ci, co] = channels();
          const xShape: [number, number, number, number, number] = [b, d, h, w, ci];
          const wShape: [number, number, number, number, number] = [k, k, k, ci, co];
          const name = `x=${xShape} k=${k} s=${s} pad=${pad}`;
          add("Conv3D forward", name, () => [tf.conv3d(data(`f3 ${name} x`, xShape) as tf.Tensor5D, data(`f3 ${name} w`, wShape) as tf.Tensor5D, s, pad)]);
        }
add("Conv3D forward", "x=2,5,6,7,3 k=2x3x1 s=1,2,1 pad=same", () => [
  tf.conv3d(data("f3a x", [2, 5, 6, 7, 3]) as tf.Tensor5D, data("f3a w", [2, 3, 1, 3, 4]) as tf.Tensor5D, [1, 2, 1], "same"),
]);

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

// ---- UnsortedSegmentSum (the gradient of gather) ---------------------------------------------

// tf.unsortedSegmentSum takes one id per entry of x's first axis.
const SEGMENTS: [number[], number][] = [
  [[7, 3], 4], // rows of 3, repeated ids
  [[5, 2, 2], 6], // rows of 2x2, some segments empty
  [[6], 3], // single elements; ids outside [0, numSegments) are dropped (-1 and 3 below)
];
for (const [shape, numSegments] of SEGMENTS) {
  const ids = Array.from({ length: shape[0] }, (_, i) => ((i * 5 + 2) % (numSegments + 2)) - 1);
  for (const dtype of ["float32", "int32"] as const) {
    add("UnsortedSegmentSum", `${dtype} x=[${shape}] ids=[${ids}] segments=${numSegments}`, () => [tf.unsortedSegmentSum(data(`seg ${shape}`, shape, dtype), tf.tensor1d(ids, "int32"), numSegments)]);
  }
}
add("UnsortedSegmentSum", "gradient of gather with repeated indices (PGL's use)", () => {
  const params = data("gather p", [10, 4]) as tf.Tensor2D;
  const indices = tf.tensor1d([3, 1, 3, 9, 0, 3], "int32");
  const dy = data("gather dy", [6, 4]);
  return [tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, indices), dy)))(params as tf.Tensor2D)];
});

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


type Pass = "native" | "pure";
const PASSES: { pass: Pass; label: string; tag: string }[] = [
  { pass: "native", label: "oneDNN addon", tag: "oneDNN" },
  { pass: "pure", label: "pure wasm, setNativeEnabled(false)", tag: "pure wasm" },
];

const reference: Result[] = [];
const stockWasm: Result[] = [];
const ours: Record<Pass, Result[]> = { native: [], pure: [] };
/** For each case with a probe: the oneDNN implementation after the native pass ("" = never ran). */
const probed = new Map<number, string>();
let missing: string | undefined;

before(async () => {
  // IS_TEST makes the engine check every kernel call for leaked backend buffers.
  tf.env().set("IS_TEST", true);
  await tf.setBackend("cpu");
  for (const c of cases) reference.push(evaluate(c, false));
  registerTrainingKernels();
  await tf.setBackend("wasm");
  missing = addonMissing();
  try {
    if (missing === undefined) {
      setNativeEnabled(true);
      for (const c of cases) ours.native.push(evaluate(c, true));
      const native = nativeKernels()!;
      for (const [i, c] of cases.entries()) if (c.probe) probed.set(i, native.implementation(c.probe.kind, c.probe.geometry));
    }
    setNativeEnabled(false);
    for (const c of cases) ours.pure.push(evaluate(c, true));
  } finally {
    setNativeEnabled(true);
  }
  unregisterTrainingKernels();
  for (const c of cases) stockWasm.push(evaluate(c, false));
});

const families = [...new Set(cases.map((c) => c.family))];

/** Skips (or, where the addon is required, fails) a native test when the addon is not loaded. */
const nativeUnavailable = (t: { skip(message?: string): void }): boolean => skipWithoutAddon(t, missing);

test("the oneDNN addon is loaded (or the native pass is skipped with the reason)", (t) => {
  if (nativeUnavailable(t)) return;
  t.diagnostic(`oneDNN ${nativeKernels()!.version}`);
});

for (const { pass, label, tag } of PASSES) {
  describe(`wasm training kernels match the cpu backend: ${label}`, () => {
    for (const family of families) {
      test(`${family} [${tag}]`, (t) => {
        if (pass === "native" && nativeUnavailable(t)) return;
        let worst = 0;
        let worstName = "";
        let rejected = 0;
        const failures: string[] = [];
        for (const [i, c] of cases.entries()) {
          if (c.family !== family) continue;
          const ref = reference[i];
          const got = ours[pass][i];
          assert.ok(ref.outputs, `cpu failed on ${c.name}: ${ref.error}`);
          if (got.leakedBuffers !== 0) failures.push(`${c.name}: ${got.leakedBuffers} leaked wasm buffers`);
          if (got.outputs === undefined) {
            if (c.mayReject) rejected++;
            else failures.push(`${c.name}: threw ${got.error}`);
            continue;
          }
          const err = relativeError(ref.outputs, got.outputs);
          if (!(err < TOLERANCE)) failures.push(`${c.name}: relative error ${err.toExponential(2)}`);
          else if (err >= worst) [worst, worstName] = [err, c.name];
        }
        const right = worstName === "" ? "no result within tolerance" : `max relative error ${worst.toExponential(2)} (${worstName})`;
        t.diagnostic(`${right}${rejected ? `; ${rejected} rejected` : ""}${failures.length ? `; ${failures.length} failures` : ""}`);
        const total = cases.filter((c) => c.family === family).length;
        assert.equal(failures.length, 0, `${family}, ${label}: ${failures.length} of ${total} cases wrong:\n  ${failures.slice(0, 12).join("\n  ")}`);
      });
    }
  });
}

/** tfjs's 3D 'same' pads can be negative (cropping); oneDNN rejects them, so they stay on wasm. */
const negativePad = (g: number[]): boolean => g.slice(4 + 5 * g[0]).some((p) => p < 0);

test("the native pass ran every gradient case in oneDNN (except negative pads, which must not)", (t) => {
  if (nativeUnavailable(t)) return;
  const unused = cases.filter((c, i) => c.probe !== undefined && !negativePad(c.probe.geometry) && probed.get(i) === "").map((c) => `${c.family} ${c.name}`);
  const cropped = cases.filter((c, i) => c.probe !== undefined && negativePad(c.probe.geometry));
  assert.ok(cropped.length > 0, "no negative-pad case left in the suite");
  for (const [i, c] of cases.entries()) if (c.probe !== undefined && negativePad(c.probe.geometry)) assert.equal(probed.get(i), "", `${c.name} reached oneDNN`);
  const names = new Set([...probed.values()].filter((v) => v !== ""));
  t.diagnostic(`${probed.size} probed geometries; implementations: ${[...names].join(", ")}`);
  assert.ok(probed.size > 100);
  assert.deepEqual(unused, [], "gradient geometries that never reached oneDNN");
});

test("setNativeEnabled switches the native convolutions off and on", async (t) => {
  if (nativeUnavailable(t)) return;
  registerTrainingKernels();
  await tf.setBackend("wasm");
  // a geometry no case uses, so no primitive exists for it yet
  const xShape: [number, number, number, number] = [1, 5, 11, 2];
  const wShape: [number, number, number, number] = [3, 3, 2, 3];
  const geometry = conv2dGeometry(xShape, wShape, 1, 1, "same");
  const native = nativeKernels()!;
  const run = () => tf.tidy(() => {
    const x = tf.ones(xShape) as tf.Tensor4D;
    const y = tf.ones([1, 5, 11, 3]) as tf.Tensor4D;
    return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: y }, { strides: [1, 1], pad: "same", dataFormat: "NHWC", filterShape: wShape }) as tf.Tensor;
  });
  const before = tf.memory().numTensors;
  try {
    setNativeEnabled(false);
    assert.equal(nativeKernels(), undefined);
    const off = run();
    assert.equal(native.implementation("backwardFilter", geometry), "", "the addon ran while switched off");
    setNativeEnabled(true);
    const on = run();
    assert.notEqual(native.implementation("backwardFilter", geometry), "", "the addon did not run while switched on");
    // every tap of a 3x3 'same' kernel over ones sees 4..10 x 5 columns of ones, the same count both ways
    assert.deepEqual([...on.dataSync()], [...off.dataSync()]);
    tf.dispose([on, off]);
  } finally {
    setNativeEnabled(true);
  }
  assert.equal(tf.memory().numTensors, before);
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

  test("UnsortedSegmentSum is missing", () => {
    const { errors } = stockError("UnsortedSegmentSum");
    assert.ok(errors.length > 0 && errors.every((e) => /not registered|UnsortedSegmentSum/.test(e)), errors[0]);
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
