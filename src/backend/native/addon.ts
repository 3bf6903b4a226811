/**
 * The optional oneDNN addon (native/dnnl_kernels.cc, built by scripts/build-native.sh during
 * `npm install`). When it loads, convolutions and batch norm of the wasm backend run in native
 * code directly on the wasm heap (no copies); when it does not, the wasm kernels run and
 * describeBackend() says why.
 *
 * ANATOMY_SSL_NATIVE=0 never loads it; =1 makes a missing addon an error instead of a fallback.
 */
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The addon's raw exports (byte offsets into the heap array). */
interface Addon {
  conv(kind: 0 | 1 | 2, heap: Uint8Array, geometry: number[], a: number, b: number, out: number): void;
  implementation(kind: 0 | 1 | 2, geometry: number[]): string;
  batchNormForward(heap: Uint8Array, m: number, c: number, epsilon: number, x: number, scale: number, offset: number, y: number, mean: number, variance: number): void;
  batchNormBackward(heap: Uint8Array, m: number, c: number, epsilon: number, dy: number, x: number, scale: number, mean: number, variance: number, dx: number, dscale: number, doffset: number): void;
  biasActivation(heap: Uint8Array, m: number, c: number, y: number, bias: number, relu: number): void;
  interleave(heap: Uint8Array, gather: number, rows: number, whole: number, parts: number[]): void;
  maxPoolGrad(heap: Uint8Array, geometry: number[], dy: number, x: number, dx: number): void;
  setThreads(n?: number): number;
  version(): string;
}

/**
 * Convolution geometry in the addon's order: [nd, N, IC, OC, in[nd], kernel[nd], out[nd],
 * stride[nd], dilation[nd] (1 = none), padBefore[nd], padAfter[nd]].
 */
export type ConvGeometry = number[];

export const ADDON_PATH = path.join(__dirname, "..", "..", "..", "..", "native", "build", "dnnl_kernels.node");

let addon: Addon | undefined;
let why: string | undefined;
let tried = false;

/** Load the addon once; returns undefined (and remembers why) when it is unavailable or disabled. */
export function loadAddon(): Addon | undefined {
  if (tried) return addon;
  tried = true;
  const setting = process.env.ANATOMY_SSL_NATIVE;
  if (setting === "0") {
    why = "disabled by ANATOMY_SSL_NATIVE=0";
    return undefined;
  }
  // OpenMP threads that spin between parallel regions fight the wasm threads and everything else
  // on a small machine: with the default (active) policy the 64x64 U-Net step took 2.2 s instead
  // of 0.32 s while two other processes ran. libgomp reads this once, when the addon loads it.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(ADDON_PATH) as Addon;
  } catch (e) {
    why = `${ADDON_PATH} did not load (${(e as Error).message.split("\n")[0]}); run \`npm run build:native\``;
    if (setting === "1") throw new Error(`ANATOMY_SSL_NATIVE=1 but ${why}`);
  }
  return addon;
}

/** Why the addon is not in use (undefined when it is). */
export function addonUnavailableReason(): string | undefined {
  loadAddon();
  return addon === undefined ? why : undefined;
}

let enabled = true;

/** Tests and benchmarks switch the native path off and on to compare it with the wasm kernels. */
export function setNativeEnabled(on: boolean): void {
  enabled = on;
}

interface HeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
}

function offset(backend: BackendWasm, t: tf.TensorInfo): number {
  const entry = (backend as unknown as HeapBackend).dataIdMap.get(t.dataId);
  if (entry === undefined) throw new Error("native kernel: tensor is not on the wasm heap");
  return entry.memoryOffset;
}

function heap(backend: BackendWasm): Uint8Array {
  // read each call: the heap's buffer object changes when wasm memory grows
  return (backend as unknown as HeapBackend).wasm.HEAPU8;
}

/** The native kernels, bound to wasm tensors; undefined when the addon is not loaded or disabled. */
export interface NativeKernels {
  version: string;
  conv(kind: "forward" | "backwardData" | "backwardFilter", backend: BackendWasm, geometry: ConvGeometry, a: tf.TensorInfo, b: tf.TensorInfo, out: tf.TensorInfo): void;
  implementation(kind: "forward" | "backwardData" | "backwardFilter", geometry: ConvGeometry): string;
  biasActivation(backend: BackendWasm, y: tf.TensorInfo, bias: tf.TensorInfo | undefined, relu: boolean): void;
  batchNormForward(backend: BackendWasm, x: tf.TensorInfo, scale: tf.TensorInfo, offset: tf.TensorInfo, epsilon: number, y: tf.TensorInfo, mean: tf.TensorInfo, variance: tf.TensorInfo): void;
  batchNormBackward(backend: BackendWasm, dy: tf.TensorInfo, x: tf.TensorInfo, scale: tf.TensorInfo, mean: tf.TensorInfo, variance: tf.TensorInfo, epsilon: number, dx: tf.TensorInfo, dscale: tf.TensorInfo, doffset: tf.TensorInfo): void;
  /** Concat (gather) or split (scatter) of `rows` rows: whole row = the parts' rows side by side. */
  interleave(backend: BackendWasm, gather: boolean, rows: number, whole: tf.TensorInfo, parts: tf.TensorInfo[]): void;
  maxPoolGrad(backend: BackendWasm, geometry: ConvGeometry, dy: tf.TensorInfo, x: tf.TensorInfo, dx: tf.TensorInfo): void;
  setThreads(n: number): number;
}

const KIND = { forward: 0, backwardData: 1, backwardFilter: 2 } as const;

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let bound: NativeKernels | undefined;

export function nativeKernels(): NativeKernels | undefined {
  if (!enabled) return undefined;
  const a = loadAddon();
  if (a === undefined) return undefined;
  bound ??= {
    version: a.version(),
    conv: (kind, backend, geometry, x, y, out) => a.conv(KIND[kind], heap(backend), geometry, offset(backend, x), offset(backend, y), offset(backend, out)),
    implementation: (kind, geometry) => a.implementation(KIND[kind], geometry),
    biasActivation: (backend, y, bias, relu) => {
      const c = y.shape[y.shape.length - 1];
      a.biasActivation(heap(backend), size(y.shape) / c, c, offset(backend, y), bias === undefined ? -1 : offset(backend, bias), relu ? 1 : 0);
    },
    batchNormForward: (backend, x, scale, off, epsilon, y, mean, variance) => {
      const c = x.shape[x.shape.length - 1];
      a.batchNormForward(heap(backend), size(x.shape) / c, c, epsilon, offset(backend, x), offset(backend, scale), offset(backend, off), offset(backend, y), offset(backend, mean), offset(backend, variance));
    },
    batchNormBackward: (backend, dy, x, scale, mean, variance, epsilon, dx, dscale, doffset) => {
      const c = x.shape[x.shape.length - 1];
      a.batchNormBackward(heap(backend), size(x.shape) / c, c, epsilon, offset(backend, dy), offset(backend, x), offset(backend, scale), offset(backend, mean), offset(backend, variance), offset(backend, dx), offset(backend, dscale), offset(backend, doffset));
    },
    interleave: (backend, gather, rows, whole, parts) =>
      a.interleave(heap(backend), gather ? 1 : 0, rows, offset(backend, whole), parts.flatMap((p) => [offset(backend, p), size(p.shape) / rows])),
    maxPoolGrad: (backend, geometry, dy, x, dx) => a.maxPoolGrad(heap(backend), geometry, offset(backend, dy), offset(backend, x), offset(backend, dx)),
    setThreads: (n) => a.setThreads(n),
  };
  return bound;
}
