/**
 * Concat and SplitV of the wasm backend, routed to the oneDNN addon's plain C++ loops when it is
 * loaded (not oneDNN calls: just threaded copies). The max-pooling gradients choose between the
 * addon and JavaScript in ../kernels/max-pool-grad.ts.
 *
 * Why: a U-Net concatenates every skip connection along the channel axis and autodiff splits the
 * gradient back; the stock wasm kernels copy one row (one pixel's channels) per JavaScript call:
 * ~100 ms of the 2D reference step, and the rank-5 SplitV 8.4 s of the 3D one. Without the addon, Concat and SplitV use the same row loop
 * in JavaScript (interleaveArrays). Anything unusual (empty or 1-byte tensors, a single input)
 * goes to the previous kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input } from "../kernels/scope.js";
import { nativeKernels } from "./addon.js";
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

export const NATIVE_COPY_KERNELS: Record<string, Build> = {
  [tf.Concat]: nativeConcat,
  [tf.SplitV]: nativeSplitV,
};
