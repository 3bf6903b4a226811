/**
 * Conv3D for wasm (without the oneDNN addon): one XNNPACK Conv2D per filter depth tap.
 *
 * Why: the stock wasm Conv3D is a scalar C++ loop: 26 s of the 37 s step of the 3D reference
 * U-Net (bench/README.md). Output depth od reads input depth d = od*sd + kd - padFront through
 * tap kd, so y = sum over kd of the 2D conv of the gathered input planes with filter tap kd
 * (depth-taps.ts), summed into the output in tap order. Dilated depth and cropping (negative)
 * pads stay on the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { filterTap, gatherTapPlanes, planarAttrs, planarInfo, forEachUsedTap } from "./depth-taps.js";
import { input, type KernelArgs, withScope } from "./scope.js";

export function conv3dForwardConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const fallback = (args: KernelArgs) => stock.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return {
    ...stock,
    kernelFunc: ((args: KernelArgs) => {
      const x = input(args, "x");
      const filter = input(args, "filter");
      const a = args.attrs as unknown as tf.Conv3DAttrs;
      if (x.dtype !== "float32" || (a.dataFormat !== undefined && a.dataFormat !== "NDHWC")) return fallback(args);
      const info = tf.backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filter.shape as [number, number, number, number, number], a.strides, a.dilations ?? 1, a.pad);
      const p = info.padInfo;
      const dilated = info.dilationDepth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1;
      if (dilated || [p.front, p.back, p.top, p.bottom, p.left, p.right].some((v) => v < 0)) return fallback(args);
      const backend = args.backend as BackendWasm;
      const planar = planarInfo(info);
      return withScope(backend, (scope) => {
        const y = scope.alloc([info.batchSize, info.outDepth, info.outHeight, info.outWidth, info.outChannels]);
        scope.view(y).fill(0);
        forEachUsedTap(backend, info, (tapScope, kd) => {
          const planes = gatherTapPlanes(tapScope, x, info, kd);
          const part = tapScope.run(tf.Conv2D, { x: planes, filter: filterTap(tapScope, filter, kd) }, { ...planarAttrs(planar), dilations: 1 });
          const out = scope.view(y);
          const add = tapScope.view(part);
          for (let i = 0; i < out.length; i++) out[i] += add[i];
        });
        return y;
      });
    }) as unknown as tf.KernelFunc,
  };
}
