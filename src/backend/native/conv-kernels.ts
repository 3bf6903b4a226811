/**
 * Convolution kernels of the wasm backend routed to the oneDNN addon when it is loaded.
 *
 * Each config wraps the kernel that was registered before (stock wasm or ours from ../kernels/)
 * and falls back to it for what the addon does not do: NCHW data, FusedConv2D with an activation
 * other than linear/relu, or the addon being absent or switched off (setNativeEnabled). The
 * geometry (output size, padding on each side) comes from tfjs's own conv_util, so 'same',
 * 'valid' and explicit paddings mean exactly what they mean for the wasm kernels.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, type KernelArgs } from "../kernels/scope.js";
import { nativeKernels, type ConvGeometry } from "./addon.js";
import { routed, type Build } from "./routed.js";

type Shape4 = [number, number, number, number];
type Shape5 = [number, number, number, number, number];
type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;

/** Geometry of a 2D conv from x's and the filter's shapes, as the addon wants it. */
export function conv2dGeometry(xShape: Shape4, filterShape: Shape4, strides: number | [number, number], dilations: number | [number, number], pad: Pad, rounding?: "floor" | "round" | "ceil"): ConvGeometry {
  const i = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, rounding, false, "channelsLast");
  const p = i.padInfo;
  return [2, i.batchSize, i.inChannels, i.outChannels, i.inHeight, i.inWidth, i.filterHeight, i.filterWidth, i.outHeight, i.outWidth,
    i.strideHeight, i.strideWidth, i.dilationHeight, i.dilationWidth, p.top, p.left, p.bottom, p.right];
}

/** Geometry of a 3D conv. */
export function conv3dGeometry(xShape: Shape5, filterShape: Shape5, strides: number | [number, number, number], dilations: number | [number, number, number], pad: "same" | "valid" | number): ConvGeometry {
  const i = tf.backend_util.computeConv3DInfo(xShape, filterShape, strides, dilations, pad, false, "channelsLast");
  const p = i.padInfo;
  return [3, i.batchSize, i.inChannels, i.outChannels, i.inDepth, i.inHeight, i.inWidth, i.filterDepth, i.filterHeight, i.filterWidth,
    i.outDepth, i.outHeight, i.outWidth, i.strideDepth, i.strideHeight, i.strideWidth, i.dilationDepth, i.dilationHeight, i.dilationWidth,
    p.front, p.top, p.left, p.back, p.bottom, p.right];
}

/** Output shape [N, spatial..., C] of geometry g for its `out` (forward) or `in` (data gradient) side. */
function activationShape(g: ConvGeometry, side: "in" | "out"): number[] {
  const nd = g[0];
  const start = side === "in" ? 4 : 4 + 2 * nd;
  return [g[1], ...g.slice(start, start + nd), side === "in" ? g[2] : g[3]];
}


/**
 * tfjs's 3D 'same' padding can be negative (k=1, stride 2, even size: front = floor(-1/2)); it
 * means cropping, which oneDNN rejects. Such geometries stay on the previous kernel.
 */
function hasNegativePad(g: ConvGeometry): boolean {
  const nd = g[0];
  return g.slice(4 + 5 * nd).some((p) => p < 0);
}

/** Allocate the output, run the native call, free the output if the call throws. */
function produce(backend: BackendWasm, shape: number[], call: (out: tf.TensorInfo) => void): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  try {
    call(out);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
}


function nhwc(attrs: tf.NamedAttrMap | undefined): boolean {
  const f = attrs?.dataFormat;
  return f === undefined || f === "NHWC" || f === "NDHWC" || f === "channelsLast";
}

function forward2d(args: KernelArgs, backend: BackendWasm, bias?: tf.TensorInfo, relu = false): tf.TensorInfo | undefined {
  const native = nativeKernels();
  if (native === undefined || !nhwc(args.attrs)) return undefined;
  const x = input(args, "x");
  const filter = input(args, "filter");
  const a = args.attrs as unknown as tf.FusedConv2DAttrs;
  const g = conv2dGeometry(x.shape as Shape4, filter.shape as Shape4, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, activationShape(g, "out"), (y) => {
    native.conv("forward", backend, g, x, filter, y);
    if (bias !== undefined || relu) native.biasActivation(backend, y, bias, relu);
  });
}

export const nativeConv2D: Build = routed(tf.Conv2D, (args, backend) => forward2d(args, backend));

export const nativeFusedConv2D: Build = routed(tf.FusedConv2D, (args, backend) => {
  const activation = (args.attrs?.activation as string | undefined) ?? "linear";
  if ((activation !== "linear" && activation !== "relu") || args.inputs.preluActivationWeights !== undefined) return undefined;
  const bias = args.inputs.bias;
  // only a per-channel bias; tf.fused.conv2d also accepts broadcastable shapes like [1]
  const channels = input(args, "filter").shape[3];
  if (bias !== undefined && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== channels)) return undefined;
  return forward2d(args, backend, bias, activation === "relu");
});

export const nativeConv2DBackpropInput: Build = routed(tf.Conv2DBackpropInput, (args, backend) => {
  const native = nativeKernels();
  if (native === undefined || !nhwc(args.attrs)) return undefined;
  const dy = input(args, "dy");
  const filter = input(args, "filter");
  const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const g = conv2dGeometry(a.inputShape, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, activationShape(g, "in"), (out) => native.conv("backwardData", backend, g, dy, filter, out));
});

export const nativeConv2DBackpropFilter: Build = routed(tf.Conv2DBackpropFilter, (args, backend) => {
  const native = nativeKernels();
  if (native === undefined || !nhwc(args.attrs)) return undefined;
  const x = input(args, "x");
  const dy = input(args, "dy");
  const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const g = conv2dGeometry(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, a.filterShape, (out) => native.conv("backwardFilter", backend, g, x, dy, out));
});

export const nativeConv3D: Build = routed(tf.Conv3D, (args, backend) => {
  const native = nativeKernels();
  if (native === undefined || !nhwc(args.attrs)) return undefined;
  const x = input(args, "x");
  const filter = input(args, "filter");
  const a = args.attrs as unknown as tf.Conv3DAttrs;
  const g = conv3dGeometry(x.shape as Shape5, filter.shape as Shape5, a.strides, a.dilations ?? 1, a.pad);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, activationShape(g, "out"), (out) => native.conv("forward", backend, g, x, filter, out));
});

export const nativeConv3DBackpropInput: Build = routed(tf.Conv3DBackpropInputV2, (args, backend) => {
  const native = nativeKernels();
  if (native === undefined) return undefined;
  const dy = input(args, "dy");
  const filter = input(args, "filter");
  const a = args.attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
  const g = conv3dGeometry(a.inputShape, filter.shape as Shape5, a.strides, 1, a.pad);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, activationShape(g, "in"), (out) => native.conv("backwardData", backend, g, dy, filter, out));
});

export const nativeConv3DBackpropFilter: Build = routed(tf.Conv3DBackpropFilterV2, (args, backend) => {
  const native = nativeKernels();
  if (native === undefined) return undefined;
  const x = input(args, "x");
  const dy = input(args, "dy");
  const a = args.attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
  const g = conv3dGeometry(x.shape as Shape5, a.filterShape, a.strides, 1, a.pad);
  if (hasNegativePad(g)) return undefined;
  return produce(backend, a.filterShape, (out) => native.conv("backwardFilter", backend, g, x, dy, out));
});

/** Every routed kernel by name, each applied over whatever is registered for wasm at that point. */
export const NATIVE_CONV_KERNELS: Record<string, Build> = {
  [tf.Conv2D]: nativeConv2D,
  [tf.FusedConv2D]: nativeFusedConv2D,
  [tf.Conv2DBackpropInput]: nativeConv2DBackpropInput,
  [tf.Conv2DBackpropFilter]: nativeConv2DBackpropFilter,
  [tf.Conv3D]: nativeConv3D,
  [tf.Conv3DBackpropInputV2]: nativeConv3DBackpropInput,
  [tf.Conv3DBackpropFilterV2]: nativeConv3DBackpropFilter,
};
