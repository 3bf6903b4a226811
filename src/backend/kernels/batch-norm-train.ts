/**
 * Training-mode batch normalisation as one kernel forward and one kernel backward.
 *
 * Why: tf.layers' BatchNormalization builds the training pass from tf.moments + tf.batchNorm, so
 * autodiff turns it into ~40 small element-wise kernels (Sum, Multiply, Mean, Sub, Square,
 * RealDiv...) per layer. On the 2D reference step that chain cost about a third of all kernel
 * time (bench/profile-step.ts). Here the forward is two passes over x and the backward two passes
 * over x and dy, with the textbook gradient:
 *
 *   xhat = (x - mean) * invStd,   invStd = 1 / sqrt(var + eps)   (var biased, as tf.moments)
 *   dbeta = sum(dy),  dgamma = sum(dy * xhat)
 *   dx = gamma * invStd / M * (M * dy - dbeta - xhat * dgamma)
 *
 * Statistics are over every axis but the last (channels-last, any rank), M = size / C. Sums are
 * accumulated in float64. Kernels exist for the cpu and wasm backends (plain loops on the
 * tensors' memory; on wasm the oneDNN addon takes over when it is loaded, see ../native/). On
 * other backends models fall back to tf.moments + tf.batchNorm (models/batch-norm.ts).
 *
 *   AnatomySslBatchNormTrain      inputs x, scale, offset; attrs epsilon -> [y, mean, variance]
 *   AnatomySslBatchNormTrainGrad  inputs dy, x, scale, mean, variance; attrs epsilon
 *                                 -> [dx, dscale, doffset]
 *
 * The mean and variance outputs carry no gradient (they only feed the moving averages, which are
 * not differentiated); the tests compare both kernels with tf.layers' BatchNormalization and
 * autodiff on the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { nativeKernels } from "../native/addon.js";
import { input, type KernelArgs } from "./scope.js";

export const BATCH_NORM_TRAIN = "AnatomySslBatchNormTrain";
export const BATCH_NORM_TRAIN_GRAD = "AnatomySslBatchNormTrainGrad";

/** Forward on flat channels-last arrays; writes y, mean and variance (length C). */
export function batchNormForwardArrays(
  x: Float32Array, scale: Float32Array, offset: Float32Array, epsilon: number,
  y: Float32Array, mean: Float32Array, variance: Float32Array,
): void {
  const c = scale.length;
  const m = x.length / c;
  const sum = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) sum[k] += x[i + k];
  for (let k = 0; k < c; k++) mean[k] = sum[k] / m;
  // second pass on centred values: no cancellation when |mean| >> sd
  const sq = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) {
    for (let k = 0; k < c; k++) {
      const d = x[i + k] - mean[k];
      sq[k] += d * d;
    }
  }
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    variance[k] = sq[k] / m;
    a[k] = scale[k] / Math.sqrt(variance[k] + epsilon);
    b[k] = offset[k] - mean[k] * a[k];
  }
  for (let i = 0; i < x.length; i += c) for (let k = 0; k < c; k++) y[i + k] = x[i + k] * a[k] + b[k];
}

/** Backward on flat channels-last arrays; writes dx, dscale and doffset. */
export function batchNormBackwardArrays(
  dy: Float32Array, x: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number,
  dx: Float32Array, dscale: Float32Array, doffset: Float32Array,
): void {
  const c = scale.length;
  const m = x.length / c;
  const invStd = new Float64Array(c);
  for (let k = 0; k < c; k++) invStd[k] = 1 / Math.sqrt(variance[k] + epsilon);
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) {
    for (let k = 0; k < c; k++) {
      sumDy[k] += dy[i + k];
      sumDyXhat[k] += dy[i + k] * (x[i + k] - mean[k]) * invStd[k];
    }
  }
  const g = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    doffset[k] = sumDy[k];
    dscale[k] = sumDyXhat[k];
    g[k] = (scale[k] * invStd[k]) / m;
  }
  for (let i = 0; i < x.length; i += c) {
    for (let k = 0; k < c; k++) {
      const xhat = (x[i + k] - mean[k]) * invStd[k];
      dx[i + k] = g[k] * (m * dy[i + k] - sumDy[k] - xhat * sumDyXhat[k]);
    }
  }
}

function channels(x: tf.TensorInfo, scale: tf.TensorInfo): number {
  const c = x.shape[x.shape.length - 1];
  if (scale.shape.length !== 1 || scale.shape[0] !== c) throw new Error(`batch norm: scale shape [${scale.shape}] does not match ${c} channels`);
  return c;
}

// ---- cpu backend: tensors live in JS arrays -------------------------------------------------

interface CpuBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

function cpuForward(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as CpuBackend;
  const x = input(args, "x");
  const scale = input(args, "scale");
  const c = channels(x, scale);
  const read = (t: tf.TensorInfo) => backend.readSync(t.dataId) as Float32Array;
  const y = new Float32Array(tf.util.sizeFromShape(x.shape));
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  batchNormForwardArrays(read(x), read(scale), read(input(args, "offset")), args.attrs?.epsilon as number, y, mean, variance);
  return [backend.makeTensorInfo(x.shape, "float32", y), backend.makeTensorInfo([c], "float32", mean), backend.makeTensorInfo([c], "float32", variance)];
}

function cpuBackward(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as CpuBackend;
  const x = input(args, "x");
  const scale = input(args, "scale");
  const c = channels(x, scale);
  const read = (name: string) => backend.readSync(input(args, name).dataId) as Float32Array;
  const dx = new Float32Array(tf.util.sizeFromShape(x.shape));
  const dscale = new Float32Array(c);
  const doffset = new Float32Array(c);
  batchNormBackwardArrays(read("dy"), read("x"), read("scale"), read("mean"), read("variance"), args.attrs?.epsilon as number, dx, dscale, doffset);
  return [backend.makeTensorInfo(x.shape, "float32", dx), backend.makeTensorInfo([c], "float32", dscale), backend.makeTensorInfo([c], "float32", doffset)];
}

// ---- wasm backend: tensors live on the wasm heap --------------------------------------------

function wasmForward(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const x = input(args, "x");
  const scale = input(args, "scale");
  const offset = input(args, "offset");
  const c = channels(x, scale);
  const epsilon = args.attrs?.epsilon as number;
  const y = backend.makeOutput(x.shape, "float32");
  const mean = backend.makeOutput([c], "float32");
  const variance = backend.makeOutput([c], "float32");
  const native = nativeKernels();
  if (native !== undefined) {
    native.batchNormForward(backend, x, scale, offset, epsilon, y, mean, variance);
  } else {
    // views after the last allocation: a heap growth would detach earlier ones
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    batchNormForwardArrays(view(x), view(scale), view(offset), epsilon, view(y), view(mean), view(variance));
  }
  return [y, mean, variance];
}

function wasmBackward(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const dy = input(args, "dy");
  const x = input(args, "x");
  const scale = input(args, "scale");
  const mean = input(args, "mean");
  const variance = input(args, "variance");
  const c = channels(x, scale);
  const epsilon = args.attrs?.epsilon as number;
  const dx = backend.makeOutput(x.shape, "float32");
  const dscale = backend.makeOutput([c], "float32");
  const doffset = backend.makeOutput([c], "float32");
  const native = nativeKernels();
  if (native !== undefined) {
    native.batchNormBackward(backend, dy, x, scale, mean, variance, epsilon, dx, dscale, doffset);
  } else {
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    batchNormBackwardArrays(view(dy), view(x), view(scale), view(mean), view(variance), epsilon, view(dx), view(dscale), view(doffset));
  }
  return [dx, dscale, doffset];
}

export const batchNormTrainKernels: tf.KernelConfig[] = [
  { kernelName: BATCH_NORM_TRAIN, backendName: "cpu", kernelFunc: cpuForward as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: "cpu", kernelFunc: cpuBackward as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_TRAIN, backendName: "wasm", kernelFunc: wasmForward as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: "wasm", kernelFunc: wasmBackward as unknown as tf.KernelFunc },
];

/** dx, dscale and doffset from one backward kernel call. */
export const batchNormTrainGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAIN,
  inputsToSave: ["x", "scale"],
  outputsToSave: [false, true, true],
  gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const [x, scale, mean, variance] = saved;
    // Eagerly, not inside the thunks: the engine runs each thunk in its own tidy, which would
    // dispose the other two outputs of a shared call.
    const [dx, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, scale, mean, variance }, { epsilon: attrs.epsilon }) as tf.Tensor[];
    return { x: () => dx, scale: () => dscale, offset: () => doffset };
  },
};

let registered = false;

/** Register both kernels (cpu and wasm) and the gradient; calling again is a no-op. */
export function registerBatchNormTrainKernels(): void {
  if (registered) return;
  for (const config of batchNormTrainKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
  if (tf.getGradient(BATCH_NORM_TRAIN) === undefined) tf.registerGradient(batchNormTrainGradient);
  registered = true;
}

/** Whether the fused kernels can run on the active backend. */
export function hasBatchNormTrainKernel(): boolean {
  return tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend()) !== undefined;
}
