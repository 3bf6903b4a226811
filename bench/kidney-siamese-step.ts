/**
 * Why the kidney pretext runs on 2D sections: one contrastive training step of the siamese
 * encoder on 2D sections against the same encoder in 3D on patches of the same width, on this
 * machine's backend and, as the yardstick, in PyTorch CPU (bench/kidney_siamese_step_torch.py,
 * the same networks layer for layer, run first, with tfjs's wasm thread count). The 2D branch is
 * src/models/siamese.ts (the U-Net encoder + pooled embedding); the 3D branch is the encoder of
 * src/models/unet3d.ts with the same pooling and embedding. Depth of the 3D patch: `--depth3d`
 * slices (the kidney paper's crops are 3D boxes).
 *
 *   node dist/bench/kidney-siamese-step.js [--pairs 16] [--crop 32] [--depth3d 16] [--steps 10] [--warmup 2]
 *
 * BENCH_PYTHON picks the interpreter (default /usr/bin/python3, which has Debian's python3-torch);
 * without torch the tfjs figures are still printed. Exit code 1 when the engines' trainable
 * parameter counts differ or the twin fails for another reason than a missing torch.
 * Measure on a quiet machine (see bench/README.md).
 */
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeBackend, initBackend, tf } from "../src/backend/index.js";
import { requestedWasmThreads } from "../src/backend/wasm-threads.js";
import { buildSiameseEncoder2D, contrastiveLoss } from "../src/models/siamese.js";
import { buildUNet3D } from "../src/models/unet3d.js";
import { numberArg as arg } from "./args.js";
import { BUSY_CORES, cpuSeconds, othersCores, trainingFlops } from "./measure.js";

/** Per-step times (ms) of one branch and its trainable parameters, from either engine. */
interface Branch {
  params_trainable: number;
  times_ms: number[];
  /** Conv FLOPs of a step (tfjs only; the torch twin is the same network). */
  flops?: number;
}

interface TorchResult {
  engine: string;
  threads: number;
  "2d": Branch;
  "3d": Branch;
}

function encoder3d(crop: number, depth3d: number): tf.LayersModel {
  const unet = buildUNet3D({ inDepth: depth3d, height: crop, width: crop, inChannels: 1, nClasses: 1, depth: 4, baseFilters: 8, seed: 1 });
  const bottleneck = unet.getLayer("enc3_relu2").output as tf.SymbolicTensor;
  // Global average pooling over the three spatial axes (tf.layers has no 3D one: flatten the
  // voxels, pool in 1D), then the same linear embedding.
  const channels = bottleneck.shape[bottleneck.shape.length - 1] as number;
  const voxels = tf.layers.reshape({ targetShape: [-1, channels] }).apply(bottleneck) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling1d({ name: "siamese_pool" }).apply(voxels) as tf.SymbolicTensor;
  const embedding = tf.layers.dense({ name: "siamese_embed", units: 32 }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: unet.inputs, outputs: embedding });
}

function timeSteps(model: tf.LayersModel, shape: number[], pairs: number, steps: number, warmup: number): Branch {
  const optimizer = tf.train.adam(1e-3);
  const x1 = tf.randomNormal([pairs, ...shape]);
  const x2 = tf.randomNormal([pairs, ...shape]);
  const same = tf.tensor1d(Array.from({ length: pairs }, (_, i) => i % 2));
  // As pairDistances (models/siamese.ts) does, for inputs of any rank: the pair as one batch.
  const distances = (training: boolean) =>
    tf.tidy(() => {
      const e = model.apply(tf.concat([x1, x2], 0), { training }) as tf.Tensor2D;
      return tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(e.slice([0, 0], [pairs, -1]), e.slice([pairs, 0], [pairs, -1]))), 1), 1e-9)) as tf.Tensor1D;
    });
  const times: number[] = [];
  for (let s = 0; s < steps + warmup; s++) {
    const t = performance.now();
    const loss = optimizer.minimize(() => contrastiveLoss(distances(true), same), true);
    loss?.dataSync();
    loss?.dispose();
    if (s >= warmup) times.push(performance.now() - t);
  }
  tf.dispose([x1, x2, same]);
  optimizer.dispose();
  const params = model.trainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  return { params_trainable: params, times_ms: times, flops: trainingFlops(model, 2 * pairs) };
}

/** The twin's JSON, or why it did not run (`missing`: no interpreter or no torch, not a failure). */
async function runTorch(args: string[], threads: number): Promise<TorchResult | { error: string; missing: boolean }> {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  // The .py file is not compiled: it stays in bench/ (this file runs from dist/bench/).
  const script = path.join(__dirname, "..", "..", "bench", "kidney_siamese_step_torch.py");
  // OMP/MKL variables too, so no library starts a bigger pool behind set_num_threads' back.
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  try {
    const { stdout } = await promisify(execFile)(python, [script, ...args, "--threads", String(threads)], { env, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as TorchResult;
  } catch (e) {
    const err = e as Error & { code?: unknown; stderr?: string };
    const text = (err.stderr || err.message).trim().split("\n").slice(-2).join(" | ");
    return { error: `${python}: ${text}`, missing: err.code === "ENOENT" || /No module named '?torch/.test(text) };
  }
}

const median = (t: number[]) => {
  const s = [...t].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");

async function main(): Promise<void> {
  const pairs = arg("pairs", 16);
  const crop = arg("crop", 32);
  const depth3d = arg("depth3d", 16);
  const steps = arg("steps", 10);
  const warmup = arg("warmup", 2);
  const threads = requestedWasmThreads();
  const loadStart = load();
  // PyTorch first, before tfjs starts its wasm and OpenMP threads in this process.
  const options = { pairs, crop, depth3d, steps, warmup };
  const [c0, t0] = [cpuSeconds(), performance.now()];
  const torch = await runTorch(Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)]), threads);
  const [c1, t1] = [cpuSeconds(), performance.now()];
  const backend = await initBackend({ quiet: true });
  console.log(`backend: ${describeBackend(backend)}; cpu: ${os.cpus()[0]?.model} (${os.cpus().length} logical); load average ${loadStart}`);
  console.log("error" in torch ? `torch: not measured${torch.missing ? " (no torch)" : ""}: ${torch.error}` : `torch: ${torch.engine}, ${torch.threads} threads; run first, then tfjs`);
  console.log(`${pairs} pairs (batch ${2 * pairs}), ${warmup} warm-up + ${steps} timed steps, Adam 1e-3, contrastive loss; encoder depth 4, base 8, embedding 32`);
  const tfjs = {
    "2d": timeSteps(buildSiameseEncoder2D({ height: crop, width: crop, inChannels: 1, depth: 4, baseFilters: 8, embedding: 32, seed: 1 }), [crop, crop, 1], pairs, steps, warmup),
    "3d": timeSteps(encoder3d(crop, depth3d), [depth3d, crop, crop, 1], pairs, steps, warmup),
  };
  const others = { torch: othersCores(c0, c1, (t1 - t0) / 1000), tfjs: othersCores(c1, cpuSeconds(), (performance.now() - t1) / 1000) };
  const engines: [string, { "2d": Branch; "3d": Branch }][] = [["tfjs", tfjs]];
  if (!("error" in torch)) engines.push(["torch", torch]);
  const shapes = { "2d": `${crop}x${crop}`, "3d": `${depth3d}x${crop}x${crop}` };
  const gflop = { "2d": tfjs["2d"].flops! / 1e9, "3d": tfjs["3d"].flops! / 1e9 };
  console.log(`work: 2D ${gflop["2d"].toFixed(2)}, 3D ${gflop["3d"].toFixed(2)} GFLOP/step (${(gflop["3d"] / gflop["2d"]).toFixed(1)}x; conv MACs x2, forward x3)`);
  console.log("");
  console.log("ms per step        median     min     max  GFLOP/s");
  for (const [name, r] of engines) {
    for (const key of ["2d", "3d"] as const) {
      const t = r[key].times_ms;
      const cells = [median(t), Math.min(...t), Math.max(...t)].map((v) => v.toFixed(0).padStart(7));
      console.log(`${name.padEnd(5)} ${key.toUpperCase()} ${shapes[key].padEnd(8)} ${cells.join(" ")} ${(gflop[key] / median(t) * 1e3).toFixed(1).padStart(8)}`);
    }
  }
  console.log("");
  const ratio = (a: Branch, b: Branch) => (median(a.times_ms) / median(b.times_ms)).toFixed(2) + "x";
  console.log(`3D / 2D: ${engines.map(([name, r]) => `${name} ${ratio(r["3d"], r["2d"])}`).join(", ")} per step, for ${depth3d}x the voxels per section`);
  let ok = !("error" in torch) || torch.missing;
  if ("error" in torch) {
    console.log(`tfjs / torch: not measured (${torch.missing ? "no torch" : "the twin failed"})`);
    console.log(`params (trainable): 2D tfjs ${tfjs["2d"].params_trainable}, 3D tfjs ${tfjs["3d"].params_trainable}`);
  } else {
    console.log(`tfjs / torch: 2D ${ratio(tfjs["2d"], torch["2d"])}, 3D ${ratio(tfjs["3d"], torch["3d"])}`);
    const counts = (["2d", "3d"] as const).map((key) => {
      const [a, b] = [tfjs[key].params_trainable, torch[key].params_trainable];
      ok &&= a === b;
      return `${key.toUpperCase()} tfjs ${a}, torch ${b}${a === b ? " (equal)" : " (DIFFERENT!)"}`;
    });
    console.log(`params (trainable): ${counts.join("; ")}`);
  }
  const busy = Object.values(others).some((v) => v !== undefined && v > BUSY_CORES);
  const cores = (v: number | undefined) => (v === undefined ? "?" : v.toFixed(2));
  console.log(`load average at the end: ${load()}; other programs' CPU use: during torch ${cores(others.torch)}, during tfjs ${cores(others.tfjs)} of ${os.cpus().length} cores` +
    (busy ? ` (above ${BUSY_CORES}: the machine was busy, these times are not comparable)` : ""));
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
