/**
 * Conv2DBackpropInput for wasm: the input gradient of a 2D convolution, which is also the forward
 * pass of conv2dTranspose.
 *
 * Why: the stock wasm kernel is correct but a plain scalar loop (no XNNPACK), 9-20x slower than
 * the forward Conv2D. Three routes to XNNPACK:
 *
 *  - stride 1: dx is a Conv2D of dy with the filter rotated by 180 degrees and its in/out
 *    channels swapped, padded by (k - 1 - forward pad) on each side.
 *  - kernel == stride, no padding (1x1 convs, the 2x2 stride-2 transposed conv): each dy pixel
 *    writes its own kh x kw x ci block, so dx = dy [b*oh*ow, co] x W^T [co, kh*kw*ci] (a MatMul)
 *    followed by a depth-to-space rearrangement. Odd sizes are handled by cropping ('same') or
 *    zero-padding ('valid', whose trailing rows/columns get no gradient).
 *  - any other stride (3x3 stride 2, ...): one stride-1 Conv2D per output phase, see
 *    subpixel-input-grad.ts.
 *
 * What is left (NCHW, explicit pads that leave dy rows seeing only padding) goes to the stock
 * kernel, kept by reference.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, KernelArgs, KernelScope, TensorInfo, withScope } from "./scope.js";
import { canUseSubpixel, subpixelInputGrad } from "./subpixel-input-grad.js";

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** dx by Conv2D with the rotated, io-swapped filter (stride 1 only). */
function inputGradByConv(scope: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, padInfo: p } = info;
  const flipped = scope.run("Reverse", { x: scope.transpose(filter, [0, 1, 3, 2]) }, { dims: [0, 1] });
  return scope.run(
    "Conv2D",
    { x: dy, filter: flipped },
    {
      strides: [1, 1],
      pad: [[0, 0], [kh - 1 - p.top, kh - 1 - p.bottom], [kw - 1 - p.left, kw - 1 - p.right], [0, 0]],
      dataFormat: "NHWC",
      dilations: [1, 1],
    },
  );
}

/** dx by MatMul + depth-to-space when kernel == stride and there is no top/left padding. */
function inputGradByMatMul(scope: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: b, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const wT = scope.transpose(scope.reshape(filter, [kh * kw * ci, co]), [1, 0]);
  const cols = scope.matMul(scope.reshape(dy, [b * oh * ow, co]), wT);
  let dx: TensorInfo;
  if (kh === 1 && kw === 1) {
    dx = scope.reshape(cols, [b, oh, ow, ci]);
  } else {
    const blocks = scope.reshape(cols, [b, oh, ow, kh, kw, ci]);
    dx = scope.reshape(scope.transpose(blocks, [0, 1, 3, 2, 4, 5]), [b, oh * kh, ow * kw, ci]);
  }
  return fitRows(scope, dx, info.inHeight, info.inWidth);
}

/** Crop or zero-pad [b, h, w, c] at the bottom/right to [b, height, width, c]. */
function fitRows(scope: KernelScope, x: TensorInfo, height: number, width: number): TensorInfo {
  const [b, h, w, c] = x.shape;
  if (h === height && w === width) return x;
  let out = x;
  if (h > height || w > width) {
    out = scope.run("Slice", { x: out }, { begin: [0, 0, 0, 0], size: [b, Math.min(h, height), Math.min(w, width), c] });
  }
  if (h < height || w < width) {
    const paddings = [[0, 0], [0, height - out.shape[1]], [0, width - out.shape[2]], [0, 0]];
    out = scope.run("PadV2", { x: out }, { paddings, constantValue: 0 });
  }
  return out;
}

function canUseMatMul(info: Conv2DInfo): boolean {
  return (
    info.filterHeight === info.strideHeight &&
    info.filterWidth === info.strideWidth &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0
  );
}

function canUseConv(info: Conv2DInfo): boolean {
  const { filterHeight: kh, filterWidth: kw, padInfo: p } = info;
  return (
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    // explicit pads larger than the kernel would need negative padding here
    Math.max(p.top, p.bottom) <= kh - 1 &&
    Math.max(p.left, p.right) <= kw - 1
  );
}

/**
 * Build the kernel config. `stock` is the original wasm kernel, used for the cases not routed;
 * its setupFunc (which binds the C++ entry point) must keep running when the backend starts.
 */
export function conv2dBackpropInputConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): TensorInfo => {
    const dy = input(args, "dy");
    const filter = input(args, "filter");
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
    );
    const nhwc = info.dataFormat === "channelsLast";
    const backend = args.backend as BackendWasm;
    if (nhwc && canUseConv(info)) return withScope(backend, (scope) => inputGradByConv(scope, dy, filter, info));
    if (nhwc && canUseMatMul(info)) return withScope(backend, (scope) => inputGradByMatMul(scope, dy, filter, info));
    if (nhwc && canUseSubpixel(info)) return withScope(backend, (scope) => subpixelInputGrad(scope, dy, filter, info));
    return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
  };
  return { ...stock, kernelFunc: kernelFunc as tf.KernelFunc };
}
