/**
 * The tfjs wasm backend with the kernels training needs registered on top (see ./kernels/), and
 * the optional oneDNN addon (./native/) under them when it was built. The addon runs its
 * OpenMP threads while the wasm threads wait, so both use the same thread count.
 */
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels } from "./kernels/index.js";
import { configureWasmThreads } from "./wasm-threads.js";
import { addonUnavailableReason, nativeKernels } from "./native/addon.js";

let simd = false;

export async function setupWasm(): Promise<void> {
  simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
  configureWasmThreads();
  registerTrainingKernels();
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') returned false");
}

/** SIMD and threads of the wasm build, and the oneDNN addon's version or why it is not used. */
export function wasmDetails(): { simd: boolean; threads: number; native?: string; nativeSkipped?: string } {
  const native = nativeKernels();
  if (native !== undefined) native.setThreads(wasm.getThreadsCount());
  return { simd, threads: wasm.getThreadsCount(), native: native?.version, nativeSkipped: addonUnavailableReason() };
}
