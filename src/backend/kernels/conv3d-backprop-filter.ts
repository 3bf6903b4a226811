/**
 * Conv3DBackpropFilterV2 for wasm: the weight gradient of a 3D convolution.
 *
 * Why: the stock wasm 4.22 kernel is right at stride 1 but wrong for stride > 1 (measured max
 * relative error 0.6-1.0 against the cpu backend, see test/kernels.test.ts): its C++ loop
 * (conv3d_impl.h) computes the first valid output position with a ceil-division that is wrong
 * for negative numerators. It is also a scalar loop.
 *
 * Here dW[kd] is a 2D filter gradient per filter depth tap kd: the input planes at depths
 * d = od*sd + kd - padFront (zeros inside the depth padding) against the dy planes, through the
 * same XNNPACK routing as Conv2DBackpropFilter (conv2d-backprop-filter.ts). dy is transposed
 * once and shared by all taps.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { conv2dFilterGrad, DyCache, isPatchConv, transposeDy } from "./conv2d-backprop-filter.js";
import { gatherTapPlanes, planarInfo, forEachUsedTap } from "./depth-taps.js";
import { input, KernelArgs, TensorInfo, withScope } from "./scope.js";

function conv3dBackpropFilter(args: KernelArgs): TensorInfo {
  const x = input(args, "x");
  const dy = input(args, "dy");
  const attrs = args.attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
  if (x.dtype !== "float32" || dy.dtype !== "float32") throw new Error("Conv3DBackpropFilterV2 (wasm): float32 only");
  const info = tf.backend_util.computeConv3DInfo(
    x.shape as [number, number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
  );
  const planar = planarInfo(info);
  const tapSize = info.filterHeight * info.filterWidth * info.inChannels * info.outChannels;
  const backend = args.backend as BackendWasm;

  return withScope(backend, (scope) => {
    const dw = scope.alloc(attrs.filterShape);
    const dyPlanes = scope.reshape(dy, [info.batchSize * info.outDepth, info.outHeight, info.outWidth, info.outChannels]);
    const cache: DyCache = isPatchConv(planar) ? {} : { dyT: transposeDy(scope, dyPlanes) };
    scope.view(dw).fill(0); // taps that only see depth padding get no gradient
    forEachUsedTap(backend, info, (tapScope, kd) => {
      const planes = gatherTapPlanes(tapScope, x, info, kd);
      const g = conv2dFilterGrad(tapScope, planes, dyPlanes, planar, cache);
      scope.view(dw).set(tapScope.view(g), kd * tapSize);
    });
    return dw;
  });
}

export const conv3dBackpropFilterConfig = (stock: tf.KernelConfig): tf.KernelConfig => ({
  ...stock,
  kernelFunc: conv3dBackpropFilter as tf.KernelFunc,
});
