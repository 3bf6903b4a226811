/**
 * Conv3DBackpropInputV2 for wasm: the input gradient of a 3D convolution.
 *
 * Why: the stock wasm 4.22 kernel is wrong at every stride (measured max relative error 0.7-1.0
 * against the cpu backend, see test/kernels.test.ts), so 3D training on stock wasm silently
 * learns garbage. Its C++ loop (conv3d_impl.h) bounds the output-depth loop by
 * filter_depth / stride instead of by the input position, and rounds negative divisions toward
 * zero.
 *
 * Here dx is built from 2D input gradients, one per filter depth tap kd: the dy planes
 * [b*outDepth, oh, ow, co] go through the registered Conv2DBackpropInput (our XNNPACK-routed
 * kernel, see conv2d-backprop-input.ts) with filter tap kd, and each resulting plane is added
 * to the input depth d = od*sd + kd - padFront it came from.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { filterTap, planarAttrs, planarInfo, scatterAddTapPlanes, forEachUsedTap } from "./depth-taps.js";
import { input, KernelArgs, TensorInfo, withScope } from "./scope.js";

function conv3dBackpropInput(args: KernelArgs): TensorInfo {
  const dy = input(args, "dy");
  const filter = input(args, "filter");
  const attrs = args.attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
  if (dy.dtype !== "float32" || filter.dtype !== "float32") throw new Error("Conv3DBackpropInputV2 (wasm): float32 only");
  const info = tf.backend_util.computeConv3DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
  );
  const planar = planarInfo(info);
  const planarGradAttrs = { ...planarAttrs(planar), inputShape: planar.inShape };
  const backend = args.backend as BackendWasm;

  return withScope(backend, (scope) => {
    const dx = scope.alloc(info.inShape);
    scope.view(dx).fill(0);
    const dyPlanes = scope.reshape(dy, [info.batchSize * info.outDepth, info.outHeight, info.outWidth, info.outChannels]);
    forEachUsedTap(backend, info, (tapScope, kd) => {
      const w = filterTap(tapScope, filter, kd);
      const planes = tapScope.run("Conv2DBackpropInput", { dy: dyPlanes, filter: w }, planarGradAttrs);
      scatterAddTapPlanes(tapScope, dx, planes, info, kd);
    });
    return dx;
  });
}

export const conv3dBackpropInputConfig = (stock: tf.KernelConfig): tf.KernelConfig => ({
  ...stock,
  kernelFunc: conv3dBackpropInput as tf.KernelFunc,
});
