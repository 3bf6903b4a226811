/**
 * MaxPoolGrad and MaxPool3DGrad for wasm, channels last.
 *
 * Why: the stock wasm kernels drop the gradient of every window whose maximum is negative (they
 * start the running maximum at 0): on x = [[-0.45, -0.75], [-0.51, -0.84]] the gradient should
 * reach -0.45 and reaches nothing (test/native-copies.test.ts keeps a case). A U-Net pooling
 * after ReLU never sees negative windows, but any model pooling signed values would train on a
 * wrong gradient. Here each output's gradient goes to the first maximum of its window in
 * row-major order (padding never wins), as in tfjs's cpu backend; the oneDNN addon's threaded C++
 * loop (native/dnnl_kernels.cc, maxPoolGrad) does the same and runs instead when it is loaded.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { nativeKernels } from "../native/addon.js";
import { input, type KernelArgs } from "./scope.js";

/** Pooling window geometry as 3D (depth 1 for 2D pooling). */
export interface PoolWindow {
  batch: number;
  channels: number;
  inShape: [number, number, number];
  outShape: [number, number, number];
  filter: [number, number, number];
  strides: [number, number, number];
  /** Padding before each spatial axis. */
  padBefore: [number, number, number];
}

export function poolWindow(info: tf.backend_util.Conv2DInfo | tf.backend_util.Conv3DInfo): PoolWindow {
  if ("inDepth" in info) {
    return {
      batch: info.batchSize, channels: info.inChannels,
      inShape: [info.inDepth, info.inHeight, info.inWidth], outShape: [info.outDepth, info.outHeight, info.outWidth],
      filter: [info.filterDepth, info.filterHeight, info.filterWidth], strides: [info.strideDepth, info.strideHeight, info.strideWidth],
      padBefore: [info.padInfo.front, info.padInfo.top, info.padInfo.left],
    };
  }
  return {
    batch: info.batchSize, channels: info.inChannels,
    inShape: [1, info.inHeight, info.inWidth], outShape: [1, info.outHeight, info.outWidth],
    filter: [1, info.filterHeight, info.filterWidth], strides: [1, info.strideHeight, info.strideWidth],
    padBefore: [0, info.padInfo.top, info.padInfo.left],
  };
}

/** dx (zeroed here) from dy and the forward input x. */
export function maxPoolGradArrays(w: PoolWindow, dy: Float32Array, x: Float32Array, dx: Float32Array): void {
  const c = w.channels;
  const [inD, inH, inW] = w.inShape;
  const [outD, outH, outW] = w.outShape;
  const inItem = inD * inH * inW * c;
  const outItem = outD * outH * outW * c;
  dx.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let n = 0; n < w.batch; n++) {
    const xi = n * inItem;
    let g = n * outItem;
    for (let od = 0; od < outD; od++)
      for (let oh = 0; oh < outH; oh++)
        for (let ow = 0; ow < outW; ow++, g += c) {
          best.fill(-Infinity);
          where.fill(-1);
          for (let a = 0; a < w.filter[0]; a++) {
            const id = od * w.strides[0] - w.padBefore[0] + a;
            if (id < 0 || id >= inD) continue;
            for (let b = 0; b < w.filter[1]; b++) {
              const ih = oh * w.strides[1] - w.padBefore[1] + b;
              if (ih < 0 || ih >= inH) continue;
              for (let e = 0; e < w.filter[2]; e++) {
                const iw = ow * w.strides[2] - w.padBefore[2] + e;
                if (iw < 0 || iw >= inW) continue;
                const base = xi + ((id * inH + ih) * inW + iw) * c;
                for (let k = 0; k < c; k++) {
                  if (x[base + k] > best[k] || where[k] < 0) {
                    best[k] = x[base + k];
                    where[k] = base + k;
                  }
                }
              }
            }
          }
          for (let k = 0; k < c; k++) if (where[k] >= 0) dx[where[k]] += dy[g + k];
        }
  }
}

function build(kernelName: string, info: (x: tf.TensorInfo, attrs: tf.NamedAttrMap) => tf.backend_util.Conv2DInfo | tf.backend_util.Conv3DInfo) {
  return (stock: tf.KernelConfig): tf.KernelConfig => ({
    kernelName,
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => {
      const backend = args.backend as BackendWasm;
      const x = input(args, "input");
      if (x.dtype !== "float32") return stock.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
      const w = poolWindow(info(x, args.attrs ?? {}));
      const dy = input(args, "dy");
      const dx = backend.makeOutput(x.shape, "float32");
      const native = nativeKernels();
      if (native !== undefined) {
        // as a 3D pooling (depth 1 for 2D) in the addon's conv geometry order; pads after unused
        const geometry = [3, w.batch, w.channels, w.channels, ...w.inShape, ...w.filter, ...w.outShape, ...w.strides, 1, 1, 1, ...w.padBefore, 0, 0, 0];
        native.maxPoolGrad(backend, geometry, dy, x, dx);
      } else {
        const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
        maxPoolGradArrays(w, view(dy), view(x), view(dx));
      }
      return dx;
    }) as unknown as tf.KernelFunc,
  });
}

export const maxPoolGradConfig = build(tf.MaxPoolGrad, (x, attrs) => {
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  return tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
});

export const maxPool3DGradConfig = build(tf.MaxPool3DGrad, (x, attrs) => {
  const a = attrs as unknown as tf.MaxPool3DGradAttrs;
  return tf.backend_util.computePool3DInfo(x.shape as [number, number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
});
