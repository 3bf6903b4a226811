/**
 * Composing wasm kernels from other wasm kernels.
 *
 * Our kernels are mostly "routing": they rearrange their operands so that the work lands in one
 * of the fast XNNPACK-backed kernels wasm already has (Conv2D, BatchMatMul, Transpose). Inside a
 * kernelFunc we cannot use tf ops (they would go through the engine, the tape and the profiler
 * again), so we call the registered wasm kernel functions directly, exactly as the stock wasm
 * kernels do (e.g. BatchMatMul calls Reshape). Those calls return bare TensorInfos that no Tensor
 * owns: KernelScope remembers each one and frees it at the end unless it was `keep`-ed as the
 * result.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export type TensorInfo = tf.TensorInfo;

/** What the engine passes to a kernelFunc. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** A named kernel input; the engine always passes them, so a missing one is a wiring bug. */
export function input(args: KernelArgs, name: string): TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`kernel input '${name}' is missing`);
  return t;
}

/** The wasm kernel registered under `kernelName` now (ours if we replaced it). */
export function wasmKernel(kernelName: string): tf.KernelConfig {
  const kernel = tf.getKernel(kernelName, "wasm");
  if (kernel === undefined) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return kernel;
}

export class KernelScope {
  private made: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Run `kernel` (a config or the name of a registered wasm kernel) on the backend. */
  run(kernel: string | tf.KernelConfig, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    const config = typeof kernel === "string" ? wasmKernel(kernel) : kernel;
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`${config.kernelName}: expected one output, got ${out.length}`);
    return this.track(out);
  }

  /** A fresh, uninitialised float32 buffer on the wasm heap (fill it through `view`). */
  alloc(shape: number[]): TensorInfo {
    return this.track(this.backend.makeOutput(shape, "float32"));
  }

  /**
   * A Float32Array over a tensor's bytes on the wasm heap. Views are invalidated when the heap
   * grows, so take them after the last allocation that precedes their use.
   */
  view(t: TensorInfo): Float32Array {
    if (t.dtype !== "float32") throw new Error(`expected a float32 tensor, got ${t.dtype}`);
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run("Transpose", { x }, { perm });
  }

  /** a [m, k] x b [k, n]. Only the untransposed rank-3 batch-1 case reaches XNNPACK in wasm 4.22. */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    const [m, k] = a.shape;
    const n = b.shape[1];
    const a3 = this.reshape(a, [1, m, k]);
    const b3 = this.reshape(b, [1, k, n]);
    const out = this.run("BatchMatMul", { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    return this.reshape(out, [m, n]);
  }

  /** Exclude `t` from disposal: it is the kernel's output. */
  keep(t: TensorInfo): TensorInfo {
    this.made = this.made.filter((m) => m !== t);
    return t;
  }

  /** Free every intermediate. Reshapes share buffers by reference count, so each is released once. */
  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made = [];
  }

  private track(t: TensorInfo): TensorInfo {
    this.made.push(t);
    return t;
  }
}

/** Run `body` with a scope; its return value is kept, everything else it made is freed. */
export function withScope(backend: BackendWasm, body: (scope: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
