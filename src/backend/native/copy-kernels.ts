/**
 * Concat, SplitV and the max-pooling gradients of the wasm backend, routed to the oneDNN addon's
 * plain C++ loops when it is loaded (they are not oneDNN calls: just threaded copies).
 *
 * Why: a U-Net concatenates every skip connection along the channel axis and autodiff splits the
 * gradient back; the stock wasm kernels copy one row (one pixel's channels) per JavaScript call
 * (rank-5 SplitV: 8.4 s of the 3D reference step), and MaxPoolGrad is a scalar loop: together
 * ~190 ms of the 2D reference step. Without the addon, Concat and SplitV use the same row loop
 * in JavaScript (interleaveArrays). Anything unusual (empty or 1-byte tensors, a single input)
 * goes to the previous kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input } from "../kernels/scope.js";
import { nativeKernels, type ConvGeometry } from "./addon.js";
import { routed, type Build } from "./routed.js";



const FOUR_BYTES = new Set(["float32", "int32"]);

/** The addon's interleave in JavaScript: whole rows are the parts' rows side by side. */
export function interleaveArrays(gather: boolean, whole: Float32Array | Int32Array, parts: (Float32Array | Int32Array)[], rows: number): void {
  const widths = parts.map((p) => p.length / rows);
  const total = widths.reduce((a, b) => a + b, 0);
  let offset = 0;
  parts.forEach((part, p) => {
    const w = widths[p];
    for (let r = 0; r < rows; r++) {
      const at = r * total + offset;
      const from = r * w;
      if (gather) for (let k = 0; k < w; k++) whole[at + k] = part[from + k];
      else for (let k = 0; k < w; k++) part[from + k] = whole[at + k];
    }
    offset += w;
  });
}

function interleave(backend: BackendWasm, gather: boolean, rows: number, whole: tf.TensorInfo, parts: tf.TensorInfo[]): void {
  const native = nativeKernels();
  if (native !== undefined) return native.interleave(backend, gather, rows, whole, parts);
  // views after every allocation (a heap growth detaches earlier ones)
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array | Int32Array;
  interleaveArrays(gather, view(whole), parts.map(view), rows);
}
const size = (shape: number[]) => tf.util.sizeFromShape(shape);

export const nativeConcat: Build = routed(tf.Concat, (args, backend) => {
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  if (inputs.length < 2 || !inputs.every((t) => FOUR_BYTES.has(t.dtype) && t.dtype === inputs[0].dtype && size(t.shape) > 0)) return undefined;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, inputs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const out = backend.makeOutput(tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis), inputs[0].dtype);
  interleave(backend, true, size(inputs[0].shape.slice(0, axis)), out, inputs);
  return out;
});

export const nativeSplitV: Build = routed(tf.SplitV, (args, backend) => {
  const x = input(args, "x");
  if (!FOUR_BYTES.has(x.dtype) || size(x.shape) === 0) return undefined;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs?.numOrSizeSplits as number[] | number, axis);
  if (sizes.length < 2 || sizes.some((s) => s === 0)) return undefined;
  const parts = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), x.dtype));
  interleave(backend, false, size(x.shape.slice(0, axis)), x, parts);
  return parts;
});

function poolGeometry(info: tf.backend_util.Conv2DInfo | tf.backend_util.Conv3DInfo): ConvGeometry {
  if ("inDepth" in info) {
    const p = info.padInfo;
    return [3, info.batchSize, info.inChannels, info.outChannels, info.inDepth, info.inHeight, info.inWidth,
      info.filterDepth, info.filterHeight, info.filterWidth, info.outDepth, info.outHeight, info.outWidth,
      info.strideDepth, info.strideHeight, info.strideWidth, 1, 1, 1, p.front, p.top, p.left, p.back, p.bottom, p.right];
  }
  const p = info.padInfo;
  return [2, info.batchSize, info.inChannels, info.outChannels, info.inHeight, info.inWidth, info.filterHeight, info.filterWidth,
    info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, 1, 1, p.top, p.left, p.bottom, p.right];
}

export const nativeMaxPoolGrad: Build = routed(tf.MaxPoolGrad, (args, backend) => {
  const native = nativeKernels();
  const dy = input(args, "dy");
  const x = input(args, "input");
  if (native === undefined || x.dtype !== "float32") return undefined;
  const a = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const dx = backend.makeOutput(x.shape, "float32");
  native.maxPoolGrad(backend, poolGeometry(info), dy, x, dx);
  return dx;
});

export const nativeMaxPool3DGrad: Build = routed(tf.MaxPool3DGrad, (args, backend) => {
  const native = nativeKernels();
  const dy = input(args, "dy");
  const x = input(args, "input");
  if (native === undefined || x.dtype !== "float32") return undefined;
  const a = args.attrs as unknown as tf.MaxPool3DGradAttrs;
  const info = tf.backend_util.computePool3DInfo(x.shape as [number, number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const dx = backend.makeOutput(x.shape, "float32");
  native.maxPoolGrad(backend, poolGeometry(info), dy, x, dx);
  return dx;
});

export const NATIVE_COPY_KERNELS: Record<string, Build> = {
  [tf.Concat]: nativeConcat,
  [tf.SplitV]: nativeSplitV,
  [tf.MaxPoolGrad]: nativeMaxPoolGrad,
  [tf.MaxPool3DGrad]: nativeMaxPool3DGrad,
};
