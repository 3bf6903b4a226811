/**
 * Tile for wasm, by block copies.
 *
 * Why: the stock wasm Tile converts every output index to coordinates and back (about 60 ns per
 * element: 130 ms to broadcast a [1,1,1,16] bias to [8,128,128,16], where an Add of that size
 * takes 2.5 ms). tf.broadcastTo is Tile, and gradients of broadcasting ops reach it.
 *
 * Here the output is written a block at a time: the innermost run of axes that are not repeated
 * is one contiguous copy from the input, and each repeated axis replicates the block it has just
 * written with copyWithin, doubling the copied length each time. Every output byte is written
 * once by memmove; there is no per-element index arithmetic. Broadcast-style tiling (repeating
 * size-1 axes) is the common case and is just a handful of copyWithin calls.
 * Strings go to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, KernelArgs } from "./scope.js";

type Typed = Float32Array | Int32Array | Uint8Array;

/** Tile `src` (row-major, shape `shape`) by `reps` into `dst`. Exported for the tests. */
export function tileInto(src: Typed, shape: number[], reps: number[], dst: Typed): void {
  const rank = shape.length;
  // srcStride[d]: elements per step of axis d in the input; outBlock[d]: output size of axes >= d.
  const srcStride = new Array<number>(rank + 1).fill(1);
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1] * shape[d];
    outBlock[d] = outBlock[d + 1] * shape[d] * reps[d];
  }
  // Axes q.. are not repeated: each of their blocks is a plain copy of srcStride[q] elements.
  let q = rank;
  while (q > 0 && reps[q - 1] === 1) q--;
  const chunk = srcStride[q];

  const fill = (d: number, srcOff: number, dstOff: number): void => {
    if (d === q) {
      dst.set(src.subarray(srcOff, srcOff + chunk), dstOff);
      return;
    }
    const inner = outBlock[d + 1];
    for (let j = 0; j < shape[d]; j++) fill(d + 1, srcOff + j * srcStride[d + 1], dstOff + j * inner);
    const period = shape[d] * inner;
    const total = period * reps[d];
    for (let done = period; done < total; ) {
      const n = Math.min(done, total - done);
      dst.copyWithin(dstOff + done, dstOff, dstOff + n);
      done += n;
    }
  };
  if (outBlock[0] > 0) fill(0, 0, 0);
}

export function tileConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const x = input(args, "x");
    if (x.dtype === "string" || x.dtype === "complex64") return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(
      x.shape.map((n, i) => n * reps[i]),
      x.dtype,
    );
    // Views after makeOutput: an allocation may grow (and detach) the heap.
    tileInto(backend.typedArrayFromHeap(x) as Typed, x.shape, reps, backend.typedArrayFromHeap(out) as Typed);
    return out;
  };
  return { ...stock, kernelFunc: kernelFunc as tf.KernelFunc };
}
