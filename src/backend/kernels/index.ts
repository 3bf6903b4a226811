/**
 * Kernels registered on top of tfjs-backend-wasm 4.22 so that training works, is right, and is
 * fast. Each file says why its kernel exists; in short:
 *
 *   Conv2DBackpropFilter   missing in wasm: 2D CNN training fails without it.
 *   Conv2DBackpropInput    stock is a scalar loop: stride 1 and kernel == stride go to XNNPACK.
 *   Conv3DBackpropInputV2  stock gives wrong gradients at every stride.
 *   Conv3DBackpropFilterV2 stock gives wrong gradients for stride > 1.
 *   Tile                   stock does index arithmetic per element: ~50x slower than a copy.
 *   Identity               stock copies the bytes; ours shares the buffer (as the cpu backend).
 *   MaxPoolGrad, MaxPool3DGrad  stock drops the gradient of windows whose maximum is negative.
 *   Conv3D                 stock is a scalar loop: one XNNPACK Conv2D per depth tap instead.
 *   Sum                    stock transposes rank-5 inputs slowly: neighbouring axes are merged first.
 *   UnsortedSegmentSum     missing in wasm: the gradient of gather (PGL's local consistency).
 *   AnatomySslBatchNormTrain(+Grad)  one-pass training batch norm (batch-norm-train.ts).
 *
 * On top of those, when the optional oneDNN addon is loaded (../native/), the convolutions
 * (Conv2D, FusedConv2D, both 2D gradients, Conv3D and both 3D gradients), Concat, SplitV and
 * the max-pooling gradients run natively and fall back to the kernels above otherwise.
 *
 * Every kernel is checked against the cpu backend in test/kernels.test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm"; // registers the stock wasm kernels we wrap
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter.js";
import { conv2dBackpropInputConfig } from "./conv2d-backprop-input.js";
import { conv3dBackpropFilterConfig } from "./conv3d-backprop-filter.js";
import { conv3dBackpropInputConfig } from "./conv3d-backprop-input.js";
import { tileConfig } from "./tile.js";
import { identityConfig } from "./identity.js";
import { sumConfig } from "./sum.js";
import { unsortedSegmentSumConfig } from "./unsorted-segment-sum.js";
import { conv3dForwardConfig } from "./conv3d-forward.js";
import { maxPool3DGradConfig, maxPoolGradConfig } from "./max-pool-grad.js";
import { registerBatchNormTrainKernels } from "./batch-norm-train.js";
import { NATIVE_CONV_KERNELS } from "../native/conv-kernels.js";
import { NATIVE_COPY_KERNELS } from "../native/copy-kernels.js";

/** The wasm kernel configs we replaced, as tfjs-backend-wasm registered them. */
const stock = new Map<string, tf.KernelConfig>();
const ours = new Map<string, tf.KernelConfig>();

/** A replacement built from the stock kernel (which it may fall back to), or a new kernel. */
type Replacement = (stock: tf.KernelConfig) => tf.KernelConfig;

const REPLACEMENTS: Record<string, Replacement> = {
  [tf.Conv2DBackpropInput]: conv2dBackpropInputConfig,
  [tf.Conv3DBackpropInputV2]: conv3dBackpropInputConfig,
  [tf.Conv3DBackpropFilterV2]: conv3dBackpropFilterConfig,
  [tf.Tile]: tileConfig,
  [tf.Identity]: identityConfig,
  [tf.MaxPoolGrad]: maxPoolGradConfig,
  [tf.MaxPool3DGrad]: maxPool3DGradConfig,
  [tf.Sum]: sumConfig,
  [tf.Conv3D]: conv3dForwardConfig,
};
const ADDITIONS: tf.KernelConfig[] = [conv2dBackpropFilterConfig, unsortedSegmentSumConfig];

function install(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, "wasm") !== undefined) tf.unregisterKernel(config.kernelName, "wasm");
  tf.registerKernel(config);
  ours.set(config.kernelName, config);
}

let registered = false;

/**
 * Register our wasm kernels. Call before `tf.setBackend('wasm')` (the engine runs kernel setup
 * functions when a backend starts); calling it again is a no-op. If the wasm backend is already
 * running, the stock setup functions have run, which is all our kernels need.
 */
export function registerTrainingKernels(): void {
  if (registered) return;
  for (const [name, build] of Object.entries(REPLACEMENTS)) {
    const current = tf.getKernel(name, "wasm");
    if (current === undefined) throw new Error(`tfjs-backend-wasm has no ${name} kernel to wrap (version changed?)`);
    stock.set(name, current);
    install(build(current));
  }
  for (const config of ADDITIONS) {
    const current = tf.getKernel(config.kernelName, "wasm");
    // A future tfjs-backend-wasm may ship its own: keep ours (it is tested) but remember theirs.
    if (current !== undefined) stock.set(config.kernelName, current);
    install(config);
  }
  // The native routes wrap whatever is registered now (ours or stock) and fall back to it.
  for (const [name, build] of Object.entries({ ...NATIVE_CONV_KERNELS, ...NATIVE_COPY_KERNELS })) {
    const current = tf.getKernel(name, "wasm");
    if (current === undefined) throw new Error(`tfjs-backend-wasm has no ${name} kernel to wrap (version changed?)`);
    // remember the stock kernel only: ours (e.g. Conv2DBackpropFilter, which stock lacks) is not one
    if (!stock.has(name) && ours.get(name) !== current) stock.set(name, current);
    install(build(current));
  }
  registerBatchNormTrainKernels();
  registered = true;
}

/**
 * Put the stock wasm kernels back (and drop the ones wasm lacks), for tests and benchmarks that
 * compare against them. registerTrainingKernels() installs ours again.
 */
export function unregisterTrainingKernels(): void {
  for (const [name, config] of ours) {
    if (tf.getKernel(name, "wasm") === config) tf.unregisterKernel(name, "wasm");
    const original = stock.get(name);
    if (original !== undefined) tf.registerKernel(original);
  }
  ours.clear();
  registered = false;
}

/** The stock wasm kernel we replaced (for benchmarks and tests), or undefined. */
export function stockWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return stock.get(kernelName);
}
