/**
 * A wasm kernel config that tries `run` first and falls back to the kernel registered before it
 * (stock wasm, or ours from ../kernels/) when `run` returns undefined: the native routes use it
 * for "addon not loaded / switched off" and for the cases they do not handle.
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { KernelArgs } from "../kernels/scope.js";

export type Build = (previous: tf.KernelConfig) => tf.KernelConfig;

export function routed(kernelName: string, run: (args: KernelArgs, backend: BackendWasm) => tf.TensorInfo | tf.TensorInfo[] | undefined): Build {
  return (previous) => ({
    kernelName,
    backendName: "wasm",
    setupFunc: previous.setupFunc,
    disposeFunc: previous.disposeFunc,
    kernelFunc: ((args: KernelArgs) => run(args, args.backend as BackendWasm) ?? previous.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0])) as unknown as tf.KernelFunc,
  });
}
