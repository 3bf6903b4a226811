/**
 * The tfjs wasm backend with the kernels training needs registered on top (see ./kernels/).
 */
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels } from "./kernels/index.js";
import { configureWasmThreads } from "./wasm-threads.js";

let simd = false;

export async function setupWasm(): Promise<void> {
  simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
  configureWasmThreads();
  registerTrainingKernels();
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') returned false");
}

export function wasmDetails(): { simd: boolean; threads: number } {
  return { simd, threads: wasm.getThreadsCount() };
}
