/**
 * Identity that shares its input's buffer instead of copying it.
 *
 * Why: autodiff and tf.layers call Identity hundreds of times per training step (319 calls,
 * ~60 ms of the 2D reference step); the stock wasm kernel copies every byte. Tensors are
 * immutable and wasm buffers are reference-counted (Reshape already shares them this way), so
 * sharing is safe; the cpu backend's Identity does the same. Strings keep the stock path.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { input, type KernelArgs } from "./scope.js";

export function identityConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Identity,
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => {
      const x = input(args, "x");
      if (x.dtype === "string") return stock.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
      (args.backend as BackendWasm).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as unknown as tf.KernelFunc,
  };
}
