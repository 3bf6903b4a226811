/**
 * UnsortedSegmentSum for wasm, which tfjs-backend-wasm 4.22 lacks.
 *
 * Why: it is the gradient of tf.gather, and PGL's local consistency gathers the feature vectors of
 * the voxels two views share (pretext/local-consistency.ts); without it training fails with
 * "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'".
 *
 * out[id] = sum of the rows x[i] whose segmentIds[i] = id, for ids in [0, numSegments) (other ids
 * are dropped, as TensorFlow does). A row is everything after segmentIds' axes, so each id adds
 * one contiguous block: a plain loop over the block, no index arithmetic per element.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, KernelArgs } from "./scope.js";

type Typed = Float32Array | Int32Array;

/** The sums into `out` (zeroed here), rows of `inner` elements. Exported for the tests. */
export function segmentSumInto(x: Typed, ids: Int32Array, inner: number, numSegments: number, out: Typed): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) continue;
    const src = i * inner;
    const dst = id * inner;
    for (let e = 0; e < inner; e++) out[dst + e] += x[src + e];
  }
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: "wasm",
  kernelFunc: ((args: KernelArgs): tf.TensorInfo => {
    const x = input(args, "x");
    const segmentIds = input(args, "segmentIds");
    const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
    if (x.dtype !== "float32" && x.dtype !== "int32") throw new Error(`UnsortedSegmentSum (wasm): dtype ${x.dtype} is not supported`);
    const backend = args.backend as BackendWasm;
    const rowShape = x.shape.slice(segmentIds.shape.length);
    const inner = rowShape.reduce((a, b) => a * b, 1);
    const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
    // Views after makeOutput: an allocation may grow (and detach) the heap.
    const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
    segmentSumInto(backend.typedArrayFromHeap(x) as Typed, ids, inner, numSegments, backend.typedArrayFromHeap(out) as Typed);
    return out;
  }) as tf.KernelFunc,
};
