/**
 * Helpers for building 3D convolution gradients out of 2D ones, one kernel depth tap at a time.
 *
 * A 3D conv with stride sd and front padding pf connects output depth `od` and input depth
 * d = od*sd + kd - pf through filter tap kd. For a fixed tap that is a 2D conv between the
 * [b*outDepth, H, W, c] stack of input planes at those depths and the [b*outDepth, oh, ow, co]
 * planes of dy, with the 3D conv's height/width geometry. These helpers compute that 2D geometry
 * and move depth planes between tensors on the wasm heap (plain memcpy-like copies).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { KernelScope, TensorInfo } from "./scope.js";

type Conv3DInfo = tf.backend_util.Conv3DInfo;
type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** Input depth read by output depth `od` through tap `kd`, or -1 when it falls in the padding. */
export function inputDepth(info: Conv3DInfo, od: number, kd: number): number {
  const d = od * info.strideDepth + kd - info.padInfo.front;
  return d >= 0 && d < info.inDepth ? d : -1;
}

/** True when tap `kd` touches at least one input plane. */
export function tapIsUsed(info: Conv3DInfo, kd: number): boolean {
  for (let od = 0; od < info.outDepth; od++) if (inputDepth(info, od, kd) >= 0) return true;
  return false;
}

/**
 * Run `body` for every filter depth tap that touches the input, each with a scope of its own that
 * is freed before the next tap, so only one tap's full-size planes are alive at a time.
 */
export function forEachUsedTap(backend: BackendWasm, info: Conv3DInfo, body: (tapScope: KernelScope, kd: number) => void): void {
  for (let kd = 0; kd < info.filterDepth; kd++) {
    if (!tapIsUsed(info, kd)) continue;
    const tapScope = new KernelScope(backend);
    try {
      body(tapScope, kd);
    } finally {
      tapScope.dispose();
    }
  }
}

/** The 2D conv (height/width part of the 3D one) over the [b*outDepth, H, W, ci] plane stack. */
export function planarInfo(info: Conv3DInfo): Conv2DInfo {
  const p = info.padInfo;
  const planar = tf.backend_util.computeConv2DInfo(
    [info.batchSize * info.outDepth, info.inHeight, info.inWidth, info.inChannels],
    [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
    [info.strideHeight, info.strideWidth],
    1,
    [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
  );
  if (planar.outHeight !== info.outHeight || planar.outWidth !== info.outWidth) {
    throw new Error(
      `3D->2D conv geometry mismatch: planar output ${planar.outHeight}x${planar.outWidth}, ` +
        `3D output ${info.outHeight}x${info.outWidth}`,
    );
  }
  return planar;
}

/** The same 2D conv as attributes for the Conv2D* kernels. */
export function planarAttrs(planar: Conv2DInfo): { strides: [number, number]; pad: tf.backend_util.ExplicitPadding; dataFormat: "NHWC" } {
  const p = planar.padInfo;
  return {
    strides: [planar.strideHeight, planar.strideWidth],
    pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
    dataFormat: "NHWC",
  };
}

/** Copy filter tap kd ([kh, kw, ci, co]) out of a [kd, kh, kw, ci, co] filter. */
export function filterTap(scope: KernelScope, filter: TensorInfo, kd: number): TensorInfo {
  const [, kh, kw, ci, co] = filter.shape;
  const size = kh * kw * ci * co;
  const tap = scope.alloc([kh, kw, ci, co]);
  scope.view(tap).set(scope.view(filter).subarray(kd * size, (kd + 1) * size));
  return tap;
}

/**
 * The [b*outDepth, H, W, ci] stack of input planes seen by tap kd (zeros for planes in the
 * depth padding), gathered from x [b, D, H, W, ci].
 */
export function gatherTapPlanes(scope: KernelScope, x: TensorInfo, info: Conv3DInfo, kd: number): TensorInfo {
  const plane = info.inHeight * info.inWidth * info.inChannels;
  const out = scope.alloc([info.batchSize * info.outDepth, info.inHeight, info.inWidth, info.inChannels]);
  const src = scope.view(x);
  const dst = scope.view(out);
  for (let b = 0; b < info.batchSize; b++) {
    for (let od = 0; od < info.outDepth; od++) {
      const d = inputDepth(info, od, kd);
      const at = (b * info.outDepth + od) * plane;
      if (d < 0) dst.fill(0, at, at + plane);
      else dst.set(src.subarray((b * info.inDepth + d) * plane, (b * info.inDepth + d + 1) * plane), at);
    }
  }
  return out;
}

/** dx [b, D, H, W, ci] += the planes of `planes` [b*outDepth, H, W, ci] that tap kd maps inside. */
export function scatterAddTapPlanes(scope: KernelScope, dx: TensorInfo, planes: TensorInfo, info: Conv3DInfo, kd: number): void {
  const plane = info.inHeight * info.inWidth * info.inChannels;
  const src = scope.view(planes);
  const dst = scope.view(dx);
  for (let b = 0; b < info.batchSize; b++) {
    for (let od = 0; od < info.outDepth; od++) {
      const d = inputDepth(info, od, kd);
      if (d < 0) continue;
      const s = (b * info.outDepth + od) * plane;
      const t = (b * info.inDepth + d) * plane;
      for (let i = 0; i < plane; i++) dst[t + i] += src[s + i];
    }
  }
}
