/**
 * The input gradient of a strided 2D convolution as stride-1 convolutions, one per output phase
 * ("sub-pixel" decomposition). Used by conv2d-backprop-input.ts for strides > 1 that are not the
 * kernel == stride case, e.g. a 3x3 stride-2 downsampling conv, where the stock wasm kernel (a
 * scalar loop) is about 16x slower than the forward Conv2D.
 *
 * With forward  y[oh] = sum_kh x[oh*s + kh - pt] w[kh]  (per axis), the input rows i with phase
 * r = (i + pt) mod s only receive taps kh = r + s*t, from dy row q - t where q = (i + pt - r)/s.
 * So for each phase (rh, rw) the rows q of that phase are a stride-1 Conv2D of dy with the
 * sub-filter of those taps, reversed and with in/out channels swapped, padded (T - 1) on top.
 * The s_h*s_w phase results are interleaved into dx (and cropped by the padding) with plain
 * copies. The phase convs together do exactly the forward conv's multiply-adds.
 */
import * as tf from "@tensorflow/tfjs";
import { KernelScope, TensorInfo } from "./scope.js";

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** One axis of the decomposition. */
interface Axis {
  size: number; // input extent H (or W)
  kernel: number;
  stride: number;
  padBefore: number;
  out: number; // dy extent
  /** Phase output extent: ceil((size + padBefore) / stride), enough to cover every input row. */
  phaseOut: number;
}

const taps = (a: Axis, r: number): number => Math.max(0, Math.ceil((a.kernel - r) / a.stride));

function axes(info: Conv2DInfo): [Axis, Axis] {
  const make = (size: number, kernel: number, stride: number, padBefore: number, out: number): Axis => ({
    size,
    kernel,
    stride,
    padBefore,
    out,
    phaseOut: Math.ceil((size + padBefore) / stride),
  });
  return [
    make(info.inHeight, info.filterHeight, info.strideHeight, info.padInfo.top, info.outHeight),
    make(info.inWidth, info.filterWidth, info.strideWidth, info.padInfo.left, info.outWidth),
  ];
}

/**
 * Applicable when every phase conv needs non-negative bottom/right padding, i.e. dy has no rows
 * that only ever see the bottom padding (true for 'same' and 'valid').
 */
export function canUseSubpixel(info: Conv2DInfo): boolean {
  return info.dataFormat === "channelsLast" && axes(info).every((a) => a.phaseOut >= a.out);
}

/**
 * Sub-filter of phase (rh, rw): [th, tw, co, ci] with
 * sub[a, b, o, i] = w[rh + sh*(th-1-a), rw + sw*(tw-1-b), i, o].
 */
function phaseFilter(scope: KernelScope, filter: TensorInfo, rh: number, rw: number, th: number, tw: number, info: Conv2DInfo): TensorInfo {
  const { filterWidth: kw, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = info;
  const sub = scope.alloc([th, tw, co, ci]);
  const dst = scope.view(sub);
  const src = scope.view(filter);
  let at = 0;
  for (let a = 0; a < th; a++) {
    const kh = rh + sh * (th - 1 - a);
    for (let b = 0; b < tw; b++) {
      const base = (kh * kw + rw + sw * (tw - 1 - b)) * ci * co;
      for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) dst[at++] = src[base + i * co + o];
    }
  }
  return sub;
}

/** Copy phase rows/cols (q*s + r - pad, inside the image) of `phase` [b, Qh, Qw, ci] into dx. */
function interleave(scope: KernelScope, dx: TensorInfo, phase: TensorInfo, rh: number, rw: number, [ah, aw]: [Axis, Axis], info: Conv2DInfo): void {
  const ci = info.inChannels;
  const src = scope.view(phase);
  const dst = scope.view(dx);
  for (let b = 0; b < info.batchSize; b++) {
    for (let q = 0; q < ah.phaseOut; q++) {
      const i = q * ah.stride + rh - ah.padBefore;
      if (i < 0 || i >= ah.size) continue;
      for (let qw = 0; qw < aw.phaseOut; qw++) {
        const j = qw * aw.stride + rw - aw.padBefore;
        if (j < 0 || j >= aw.size) continue;
        const s = ((b * ah.phaseOut + q) * aw.phaseOut + qw) * ci;
        const t = ((b * ah.size + i) * aw.size + j) * ci;
        for (let c = 0; c < ci; c++) dst[t + c] = src[s + c];
      }
    }
  }
}

/** dx [b, H, W, ci] of the NHWC conv `info`, given dy and the forward filter. */
export function subpixelInputGrad(scope: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const [ah, aw] = axes(info);
  const dx = scope.alloc(info.inShape);
  scope.view(dx).fill(0); // phases without taps (kernel < stride) contribute nothing
  for (let rh = 0; rh < ah.stride; rh++) {
    for (let rw = 0; rw < aw.stride; rw++) {
      const th = taps(ah, rh);
      const tw = taps(aw, rw);
      if (th === 0 || tw === 0) continue;
      const phaseScope = new KernelScope(scope.backend);
      try {
        const sub = phaseFilter(phaseScope, filter, rh, rw, th, tw, info);
        const phase = phaseScope.run(
          "Conv2D",
          { x: dy, filter: sub },
          {
            strides: [1, 1],
            pad: [[0, 0], [th - 1, ah.phaseOut - ah.out], [tw - 1, aw.phaseOut - aw.out], [0, 0]],
            dataFormat: "NHWC",
            dilations: [1, 1],
          },
        );
        interleave(phaseScope, dx, phase, rh, rw, [ah, aw], info);
      } finally {
        phaseScope.dispose();
      }
    }
  }
  return dx;
}
