/**
 * Conv2DBackpropFilter for wasm: the weight gradient of a 2D convolution.
 *
 * Why: tfjs-backend-wasm 4.22 has no such kernel, so training any 2D CNN on wasm fails with
 * "kernel not registered". We route the work into wasm's own XNNPACK kernels instead of writing
 * a loop:
 *
 *  - general case, "roles swapped" Conv2D:
 *      dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*sh+kh-pt, ow*sw+kw-pl, ci] * dy[b,oh,ow,co]
 *    is a stride-1 convolution whose input is x as [ci, H, W, b] (batch = ci, channels = b) and
 *    whose filter is dy as [oh, ow, b, co], dilated by the forward stride, with the forward
 *    top/left padding; its [ci, kh', kw', co] output is cut to kh x kw and transposed back.
 *  - kernel == stride, no padding (1x1 convs; the 2x2 stride-2 "up" conv of a U-Net, whose
 *    filter gradient is this kernel with x and dy exchanged): the patches do not overlap, so
 *    dW is one MatMul between the space-to-depth rearranged x and dy.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, KernelArgs, KernelScope, TensorInfo, withScope } from "./scope.js";

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** Non-overlapping, unpadded patches that tile the input exactly: a MatMul does it. */
export function isPatchConv(info: Conv2DInfo): boolean {
  return (
    info.filterHeight === info.strideHeight &&
    info.filterWidth === info.strideWidth &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * info.strideHeight === info.inHeight &&
    info.outWidth * info.strideWidth === info.inWidth &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1
  );
}

/**
 * dW by MatMul when isPatchConv(info). With P the [b*oh*ow, kh*kw*ci] patch matrix of x (a
 * space-to-depth rearrangement), dW = P^T dy. wasm's BatchMatMul reaches XNNPACK only without
 * transpose flags, so one operand is transposed explicitly: dy when it is the smaller one
 * (dW^T = dy^T P), else P.
 */
function filterGradByMatMul(scope: KernelScope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: b, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const rows = b * oh * ow;
  const cols = kh * kw * ci;
  const patches =
    kh === 1 && kw === 1
      ? scope.reshape(x, [rows, cols])
      : scope.reshape(scope.transpose(scope.reshape(x, [b, oh, kh, ow, kw, ci]), [0, 1, 3, 2, 4, 5]), [rows, cols]);
  const dy2 = scope.reshape(dy, [rows, co]);
  if (co <= cols) {
    const dwT = scope.matMul(scope.transpose(dy2, [1, 0]), patches);
    return scope.reshape(scope.transpose(dwT, [1, 0]), [kh, kw, ci, co]);
  }
  return scope.reshape(scope.matMul(scope.transpose(patches, [1, 0]), dy2), [kh, kw, ci, co]);
}

/**
 * dW by XNNPACK Conv2D with the roles swapped (see the file comment). `dyT` is dy already
 * transposed to [oh, ow, b, co]; the 3D kernel passes it so it transposes dy once, not per tap.
 */
function filterGradBySwappedConv(scope: KernelScope, x: TensorInfo, dyT: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Pad bottom/right only as much as needed for kh x kw outputs; the forward bottom/right
  // padding is irrelevant (zeros), and 'valid' may leave trailing rows unused (negative pad).
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);
  // [b, H, W, ci] -> [ci, H, W, b] as a rank-3 transpose (faster in wasm than the rank-4 one)
  const xT = scope.reshape(scope.transpose(scope.reshape(x, [info.batchSize, h * w, ci]), [2, 1, 0]), [ci, h, w, info.batchSize]);
  const g = scope.run(
    "Conv2D",
    { x: xT, filter: dyT },
    { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: "NHWC", dilations: [sh, sw] },
  );
  const [, gh, gw] = g.shape;
  const cut = gh === kh && gw === kw ? g : scope.run("Slice", { x: g }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
  return scope.transpose(cut, [1, 2, 0, 3]);
}

/** Per-call cache so several calls with the same dy (the depth taps of a 3D conv) transpose it once. */
export interface DyCache {
  dyT?: TensorInfo;
}

/** dy [b, oh, ow, co] -> [oh, ow, b, co], the filter of the swapped-roles conv. */
export function transposeDy(scope: KernelScope, dy: TensorInfo): TensorInfo {
  const [b, oh, ow, co] = dy.shape;
  return scope.reshape(scope.transpose(scope.reshape(dy, [b, oh * ow, co]), [1, 0, 2]), [oh, ow, b, co]);
}

/** dW [kh, kw, ci, co] of an NHWC, dilation-1 forward conv described by `info`. */
export function conv2dFilterGrad(scope: KernelScope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo, cache: DyCache = {}): TensorInfo {
  if (info.dataFormat !== "channelsLast") throw new Error("Conv2DBackpropFilter (wasm): only NHWC is supported");
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error("Conv2DBackpropFilter (wasm): dilations must be 1");
  if (isPatchConv(info)) return filterGradByMatMul(scope, x, dy, info);
  cache.dyT ??= transposeDy(scope, dy);
  return filterGradBySwappedConv(scope, x, cache.dyT, info);
}

function conv2dBackpropFilter(args: KernelArgs): TensorInfo {
  const x = input(args, "x");
  const dy = input(args, "dy");
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  return withScope(args.backend as BackendWasm, (scope) => conv2dFilterGrad(scope, x, dy, info));
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as tf.KernelFunc,
};
