/**
 * Timing of the wasm kernels in src/backend/kernels/ against the stock tfjs-backend-wasm ones
 * (and against the forward Conv2D, the speed a gradient kernel should approach), at U-Net sizes.
 * Not a test: correctness is test/kernels.test.ts.
 *
 *   npx tsc -p . && node dist/bench/kernels.js [--quick]
 *
 * Kernels are called through their kernelFunc directly (no engine bookkeeping), the same way for
 * ours and the stock ones. Each time is the median of a few runs after a warm-up run (slow runs,
 * over 2 s, are timed once without warm-up). The stock Conv3D gradients are timed although they
 * are wrong, to show what the replacement costs.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { stockWasmKernel as stock } from "../src/backend/kernels/index.js";
import { wasmKernel } from "../src/backend/kernels/scope.js";
import { setupWasm, wasmDetails } from "../src/backend/wasm.js";

const quick = process.argv.includes("--quick");

interface Row {
  name: string;
  gflop: number;
  ours?: number;
  stock?: number;
  forward?: number;
}

function backend(): BackendWasm {
  return tf.engine().backend as BackendWasm;
}

/** Median milliseconds of one kernelFunc call. */
function time(config: tf.KernelConfig, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): number {
  const once = (): number => {
    const start = performance.now();
    const out = config.kernelFunc({ inputs, backend: backend(), attrs }) as tf.TensorInfo;
    const ms = performance.now() - start;
    backend().disposeData(out.dataId);
    return ms;
  };
  const first = once();
  if (first > 2000) return first;
  const runs = Array.from({ length: quick ? 2 : 5 }, once).sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)];
}

const rows: Row[] = [];
const conv2dFlops = (b: number, oh: number, ow: number, k: number, ci: number, co: number): number => (2 * b * oh * ow * k * k * ci * co) / 1e9;

function bench2d(label: string, b: number, h: number, ci: number, co: number, k: number, s: number, pad: "same" | "valid"): void {
  const xShape: [number, number, number, number] = [b, h, h, ci];
  const wShape: [number, number, number, number] = [k, k, ci, co];
  const info = tf.backend_util.computeConv2DInfo(xShape, wShape, s, 1, pad);
  const x = tf.randomNormal(xShape);
  const w = tf.randomNormal(wShape);
  const dy = tf.randomNormal(info.outShape);
  const common = { strides: [s, s], pad, dataFormat: "NHWC" };
  const gflop = conv2dFlops(b, info.outHeight, info.outWidth, k, ci, co);
  const forward = time(wasmKernel(tf.Conv2D), { x, filter: w }, { ...common, dilations: 1 });
  const shape = `${label}: x ${xShape} k${k} s${s} ${pad} -> ${co}`;

  const filterAttrs = { ...common, filterShape: wShape };
  const stockFilter = stock(tf.Conv2DBackpropFilter);
  rows.push({
    name: `Conv2DBackpropFilter ${shape}`,
    gflop,
    forward,
    ours: time(wasmKernel(tf.Conv2DBackpropFilter), { x, dy }, filterAttrs),
    stock: stockFilter && time(stockFilter, { x, dy }, filterAttrs),
  });
  const inputAttrs = { ...common, inputShape: xShape };
  rows.push({
    name: `Conv2DBackpropInput  ${shape}`,
    gflop,
    forward,
    ours: time(wasmKernel(tf.Conv2DBackpropInput), { dy, filter: w }, inputAttrs),
    stock: time(stock(tf.Conv2DBackpropInput)!, { dy, filter: w }, inputAttrs),
  });
  tf.dispose([x, w, dy]);
}

function bench3d(b: number, d: number, ci: number, co: number, k: number, s: number): void {
  const xShape: [number, number, number, number, number] = [b, d, d, d, ci];
  const wShape: [number, number, number, number, number] = [k, k, k, ci, co];
  const info = tf.backend_util.computeConv3DInfo(xShape, wShape, s, 1, "same");
  const x = tf.randomNormal(xShape);
  const w = tf.randomNormal(wShape);
  const dy = tf.randomNormal(info.outShape);
  const gflop = (2 * b * info.outDepth * info.outHeight * info.outWidth * k ** 3 * ci * co) / 1e9;
  const forward = time(wasmKernel(tf.Conv3D), { x, filter: w }, { strides: s, pad: "same", dilations: 1, dataFormat: "NDHWC" });
  const shape = `x ${xShape} k${k} s${s} same -> ${co}`;
  const fAttrs = { strides: s, pad: "same", filterShape: wShape };
  const iAttrs = { strides: s, pad: "same", inputShape: xShape };
  rows.push({
    name: `Conv3DBackpropFilterV2 ${shape}`,
    gflop,
    forward,
    ours: time(wasmKernel(tf.Conv3DBackpropFilterV2), { x, dy }, fAttrs),
    stock: time(stock(tf.Conv3DBackpropFilterV2)!, { x, dy }, fAttrs),
  });
  rows.push({
    name: `Conv3DBackpropInputV2  ${shape}`,
    gflop,
    forward,
    ours: time(wasmKernel(tf.Conv3DBackpropInputV2), { dy, filter: w }, iAttrs),
    stock: time(stock(tf.Conv3DBackpropInputV2)!, { dy, filter: w }, iAttrs),
  });
  tf.dispose([x, w, dy]);
}

function benchTile(shape: number[], reps: number[]): void {
  const x = tf.randomNormal(shape);
  rows.push({
    name: `Tile [${shape}] x [${reps}]`,
    gflop: 0,
    ours: time(wasmKernel(tf.Tile), { x }, { reps }),
    stock: time(stock(tf.Tile)!, { x }, { reps }),
  });
  x.dispose();
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? "-" : ms < 10 ? ms.toFixed(2) : ms.toFixed(0);
}

async function main(): Promise<void> {
  await setupWasm();
  const { simd, threads } = wasmDetails();
  console.log(`wasm backend: ${simd ? "SIMD" : "no SIMD"}, ${threads} thread(s); tfjs ${tf.version.tfjs}`);

  // 2D U-Net at 128^2, batch 8, base 16 channels: top level, a deeper level, the up-convolution.
  bench2d("unet top", 8, 128, 16, 16, 3, 1, "same");
  if (!quick) bench2d("unet level 3", 8, 32, 64, 64, 3, 1, "same");
  bench2d("up-conv", 8, 128, 16, 32, 2, 2, "valid"); // conv2dTranspose(k2 s2) forward = BackpropInput
  bench2d("1x1 head", 8, 128, 16, 4, 1, 1, "valid");
  bench2d("strided 3x3/2", 8, 128, 16, 16, 3, 2, "same"); // sub-pixel phases
  // 3D U-Net top level: 64^3 (32^3 with --quick), batch 2, base 8.
  bench3d(2, quick ? 32 : 64, 8, 8, 3, 1);
  bench3d(2, quick ? 32 : 64, 8, 16, 2, 2);
  benchTile([1, 1, 1, 16], [8, 128, 128, 1]);
  benchTile([8, 64, 64, 16], [1, 2, 2, 1]);

  console.log("\nms per call (median); 'vs stock' = stock / ours; 'vs fwd' = ours / forward conv of the same shape");
  console.log("(3D: 'fwd' is wasm's own Conv3D, a scalar loop; the stock Conv3D gradients are wrong, and the");
  console.log(" stock Conv3DBackpropInputV2 is fast because its bad loop bounds skip most of the work)");
  console.log(["kernel".padEnd(78), "ours", "stock", "vs stock", "fwd", "vs fwd", "GFLOP/s"].join("\t"));
  for (const r of rows) {
    const gflops = r.gflop && r.ours ? (r.gflop / (r.ours / 1000)).toFixed(1) : "-";
    const speedup = r.stock && r.ours ? `${(r.stock / r.ours).toFixed(1)}x` : "-";
    const vsForward = r.forward && r.ours ? `${(r.ours / r.forward).toFixed(2)}x` : "-";
    console.log([r.name.padEnd(78), fmt(r.ours), fmt(r.stock), speedup, fmt(r.forward), vsForward, gflops].join("\t"));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
