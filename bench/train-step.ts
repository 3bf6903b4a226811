/**
 * One Adam training step of the reference U-Nets on this project's tfjs backend, next to the same
 * networks in PyTorch CPU (bench/train_step_torch.py) with the same threads:
 *
 *   2D reference: src/models/unet2d.ts, 128x128x1, batch 8, 4 levels, base 16, 4 classes
 *   3D reference: src/models/unet3d.ts, 64^3x1, batch 2, 3 levels, base 8, 2 classes (PGL's U-Net)
 *
 *   node dist/bench/train-step.js [--steps 10] [--warmup 2] [--only 2d|3d] [--threads N]
 *       [--batch 8] [--size 128] [--batch3d 2] [--size3d 64] [--json]
 *
 * Each option can also come from the environment: BENCH_STEPS, BENCH_WARMUP, BENCH_ONLY,
 * BENCH_THREADS, BENCH_BATCH, BENCH_SIZE, BENCH_BATCH3D, BENCH_SIZE3D; BENCH_PYTHON picks the
 * interpreter (default /usr/bin/python3, which has Debian's python3-torch). --threads sets
 * ANATOMY_SSL_WASM_THREADS (wasm/XNNPACK), the oneDNN addon's OpenMP threads and
 * torch.set_num_threads; without it tfjs uses its defaults and PyTorch the wasm thread count.
 * ANATOMY_SSL_NATIVE=0 runs tfjs without the oneDNN kernels.
 *
 * Every engine run is its own process (tfjs: this file with the internal option --worker 2d|3d),
 * started one after the other, never two at a time: so each peak RSS is that engine's alone, and
 * the wasm heap (which never shrinks) of one reference does not count against the next.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeBackend, initBackend, tf } from "../src/backend/index.js";
import { addonUnavailableReason, loadAddon, nativeKernels } from "../src/backend/native/addon.js";
import { requestedWasmThreads } from "../src/backend/wasm-threads.js";
import { buildUNet2D, unet2dParamCount } from "../src/models/unet2d.js";
import { buildUNet3D, unet3dParamCount } from "../src/models/unet3d.js";
import { BUSY_CORES, cpuSeconds, othersCores, trainingFlops } from "./measure.js";

type RefKey = "2d" | "3d";

interface Options {
  steps: number;
  warmup: number;
  batch: number;
  size: number;
  batch3d: number;
  size3d: number;
  threads?: number;
  only?: RefKey;
  json: boolean;
  /** Internal: run the tfjs side of one reference in this process and print JSON. */
  worker?: RefKey;
}

interface Reference {
  key: RefKey;
  dims: 2 | 3;
  size: number;
  batch: number;
  depth: number;
  base: number;
  classes: number;
  title: string;
  formula: number;
  build: () => tf.LayersModel;
}

function references(o: Options): Reference[] {
  const r2: Reference = {
    key: "2d", dims: 2, size: o.size, batch: o.batch, depth: 4, base: 16, classes: 4,
    title: "", formula: 0, build: () => buildUNet2D({ height: o.size, width: o.size, inChannels: 1, nClasses: 4, depth: 4, baseFilters: 16, upsampling: "transpose" }),
  };
  r2.formula = unet2dParamCount({ height: o.size, width: o.size, inChannels: 1, nClasses: 4, depth: 4, baseFilters: 16, upsampling: "transpose" });
  const r3: Reference = {
    key: "3d", dims: 3, size: o.size3d, batch: o.batch3d, depth: 3, base: 8, classes: 2,
    title: "", formula: 0, build: () => buildUNet3D({ inDepth: o.size3d, height: o.size3d, width: o.size3d, inChannels: 1, nClasses: 2, depth: 3, baseFilters: 8 }),
  };
  r3.formula = unet3dParamCount({ inDepth: o.size3d, height: o.size3d, width: o.size3d, inChannels: 1, nClasses: 2, depth: 3, baseFilters: 8 });
  for (const r of [r2, r3]) {
    const shape = Array(r.dims).fill(r.size).join("x");
    r.title = `U-Net ${r.dims}D ${shape}x1, batch ${r.batch}, ${r.depth} levels, base ${r.base}, transposed-conv up, ${r.classes} classes, Adam, softmax CE`;
  }
  return [r2, r3].filter((r) => o.only === undefined || o.only === r.key);
}

interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  times_ms: number[];
  first_loss: number;
  last_loss: number;
}

interface TorchResult extends Timing {
  engine: string;
  threads: number;
  interop_threads: number;
  params_trainable: number;
  buffers: number;
  peak_rss_mb: number;
  peak_rss_scope: string;
  rss_mb: { first: number; last: number };
}

interface MemorySample {
  rss_mb: number;
  js_heap_mb: number;
  wasm_heap_mb?: number;
  tf_mb: number;
}

interface TfjsResult extends Timing {
  backend: string;
  wasm_threads?: number;
  native: string;
  native_threads?: number;
  params_trainable: number;
  params_total: number;
  flops: number;
  tensors: { before: number; after: number };
  memory: { first: MemorySample; last: MemorySample };
  /** RSS after each timed step. */
  rss_per_step_mb: number[];
  peak_rss_mb: number;
  peak_rss_scope: string;
}

/** `--name value`, `--name=value`, or BENCH_NAME. */
function parseOptions(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i >= 0) return argv[i].includes("=") ? argv[i].split("=")[1] : argv[i + 1];
    return name === "worker" ? undefined : process.env[`BENCH_${name.toUpperCase()}`];
  };
  const int = (name: string, fallback: number | undefined, min = 1): number | undefined => {
    const raw = get(name);
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
    return n;
  };
  const ref = (name: string): RefKey | undefined => {
    const raw = get(name);
    if (raw === undefined || raw === "") return undefined;
    if (raw !== "2d" && raw !== "3d") throw new Error(`--${name} must be 2d or 3d, got ${raw}`);
    return raw;
  };
  const known = ["steps", "warmup", "batch", "size", "batch3d", "size3d", "threads", "only", "json", "worker"];
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log("usage: node dist/bench/train-step.js [--steps 10] [--warmup 2] [--only 2d|3d] [--threads N] [--batch 8] [--size 128] [--batch3d 2] [--size3d 64] [--json]\n(ANATOMY_SSL_NATIVE=0 runs tfjs without the oneDNN kernels; see bench/README.md)");
    process.exit(0);
  }
  for (const a of argv) {
    if (a.startsWith("--") && !known.includes(a.slice(2).split("=")[0])) throw new Error(`unknown option ${a} (known: ${known.filter((k) => k !== "worker").map((k) => "--" + k).join(" ")})`);
  }
  return {
    steps: int("steps", 10)!,
    warmup: int("warmup", 2, 0)!,
    batch: int("batch", 8)!,
    size: int("size", 128)!,
    batch3d: int("batch3d", 2)!,
    size3d: int("size3d", 64)!,
    threads: int("threads", undefined),
    only: ref("only"),
    json: argv.includes("--json"),
    worker: ref("worker"),
  };
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) return line.split(":")[1].trim();
  } catch {
    // not Linux: fall through
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function summarise(times: number[], losses: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median_ms: median, min_ms: sorted[0], max_ms: sorted[sorted.length - 1], times_ms: times, first_loss: losses[0], last_loss: losses[losses.length - 1] };
}

// ---- memory (Linux /proc; elsewhere the process's lifetime peak) ------------------------------

/** Reset VmHWM (peak RSS) to the current RSS; false where that is not possible. */
function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function peakRssMb(): number {
  try {
    const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
    if (line) return Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}

function memorySample(): MemorySample {
  const m = process.memoryUsage();
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return {
    rss_mb: m.rss / 2 ** 20,
    js_heap_mb: m.heapUsed / 2 ** 20,
    wasm_heap_mb: heap ? heap.length / 2 ** 20 : undefined,
    tf_mb: tf.memory().numBytes / 2 ** 20,
  };
}

// ---- the tfjs side, in its own process ----------------------------------------------------------

async function tfjsWorker(o: Options, ref: Reference): Promise<TfjsResult> {
  const backend = await initBackend({ quiet: true });
  // OpenMP threads of the oneDNN addon (when it loads): --threads, else its default (cores).
  const addon = loadAddon();
  const nativeThreads = addon === undefined ? undefined : o.threads !== undefined ? addon.setThreads(o.threads) : addon.setThreads();
  const model = ref.build();
  const optimizer = tf.train.adam(1e-3);
  const spatial = Array(ref.dims).fill(ref.size) as number[];
  const x = tf.randomNormal([ref.batch, ...spatial, 1], 0, 1, "float32", 1);
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([ref.batch, ...spatial], 0, ref.classes, "int32", 2), ref.classes));
  const step = (): number => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor), true);
    const value = loss!.dataSync()[0]; // waits for the step to finish
    loss!.dispose();
    return value;
  };
  for (let i = 0; i < o.warmup; i++) step();
  const tensorsBefore = tf.memory().numTensors;
  const peakReset = resetPeakRss();
  const times: number[] = [];
  const losses: number[] = [];
  const samples: MemorySample[] = [];
  const rss: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t = performance.now();
    losses.push(step());
    times.push(performance.now() - t);
    rss.push(process.memoryUsage.rss() / 2 ** 20);
    if (i === 0 || i === o.steps - 1) samples.push(memorySample());
  }
  const peak = peakRssMb();
  const tensorsAfter = tf.memory().numTensors;
  const trainable = model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  const why = addonUnavailableReason();
  const result: TfjsResult = {
    ...summarise(times, losses),
    backend: describeBackend(backend),
    wasm_threads: backend.threads,
    native: backend.choice !== "wasm" ? "n/a (not wasm)" : why === undefined ? `in use (oneDNN ${nativeKernels()?.version ?? "?"})` : `not in use: ${why}`,
    native_threads: why === undefined ? nativeThreads : undefined,
    params_trainable: trainable,
    params_total: model.countParams(),
    flops: trainingFlops(model, ref.batch),
    tensors: { before: tensorsBefore, after: tensorsAfter },
    memory: { first: samples[0], last: samples[samples.length - 1] },
    rss_per_step_mb: rss,
    peak_rss_mb: peak,
    peak_rss_scope: peakReset ? "timed steps" : "process",
  };
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return result;
}

// ---- the parent: one engine process at a time -----------------------------------------------------

/** Last stdout line of a child as JSON, or an Error with the end of its stderr. */
async function runJson<T>(file: string, args: string[], env: NodeJS.ProcessEnv, label: string): Promise<T | Error> {
  try {
    const { stdout } = await promisify(execFile)(file, args, { env, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as T;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return new Error(`${label} failed: ${(err.stderr || err.message).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

function runTorch(o: Options, ref: Reference, threads: number): Promise<TorchResult | Error> {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  // The .py file is not compiled: find it next to this file's source (dist/bench/ -> bench/).
  const script = [path.join(__dirname, "train_step_torch.py"), path.join(__dirname, "..", "..", "bench", "train_step_torch.py")].find((p) => {
    try {
      return readFileSync(p).length > 0;
    } catch {
      return false;
    }
  });
  if (!script) return Promise.resolve(new Error("bench/train_step_torch.py not found"));
  const args = [script, "--dims", ref.dims, "--size", ref.size, "--batch", ref.batch, "--depth", ref.depth, "--base", ref.base, "--classes", ref.classes,
    "--threads", threads, "--steps", o.steps, "--warmup", o.warmup].map(String);
  // OMP/MKL variables too, so no library starts a bigger pool behind set_num_threads' back.
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  return runJson<TorchResult>(python, args, env, `${python} ${path.basename(script)} --dims ${ref.dims}`);
}

function runTfjs(ref: Reference): Promise<TfjsResult | Error> {
  const args = [__filename, ...process.argv.slice(2).filter((a) => a !== "--json"), "--worker", ref.key];
  return runJson<TfjsResult>(process.execPath, args, process.env, `tfjs worker (${ref.key})`);
}

interface RefRun {
  ref: Reference;
  torch: TorchResult | Error;
  tfjs: TfjsResult | Error;
  others: { torch?: number; tfjs?: number };
  load: { beforeTorch: number[]; beforeTfjs: number[] };
}

const fixed = (v: number | undefined, digits = 0) => (v === undefined ? "?" : v.toFixed(digits));

function report(run: RefRun, cores: number): { lines: string[]; ok: boolean } {
  const { ref, torch, tfjs } = run;
  const lines: string[] = [];
  let ok = !(torch instanceof Error) && !(tfjs instanceof Error);
  const ms = (t: Timing) => `${t.median_ms.toFixed(0)} ms/step median (min ${t.min_ms.toFixed(0)}, max ${t.max_ms.toFixed(0)}; loss ${t.first_loss.toFixed(4)} -> ${t.last_loss.toFixed(4)})`;
  const flops = tfjs instanceof Error ? undefined : tfjs.flops;
  const rate = (t: Timing) => (flops ? `, ${(flops / t.median_ms / 1e6).toFixed(1)} GFLOP/s` : "");
  lines.push(`== ${ref.key.toUpperCase()} reference: ${ref.title}`);
  if (flops) lines.push(`work: ~${(flops / 1e9).toFixed(1)} GFLOP/step (conv MACs x2, forward x3)`);
  const pt = tfjs instanceof Error ? undefined : tfjs.params_trainable;
  const pp = torch instanceof Error ? undefined : torch.params_trainable;
  const equal = pt === ref.formula && pp === ref.formula;
  if (pt !== undefined && pp !== undefined && !equal) ok = false;
  lines.push(`params (trainable): tfjs ${pt ?? "?"}, torch ${pp ?? "?"}, formula ${ref.formula}${pt !== undefined && pp !== undefined ? (equal ? " (equal)" : " (DIFFERENT!)") : ""}` +
    (tfjs instanceof Error || torch instanceof Error ? "" : `; BN running stats: tfjs ${tfjs.params_total - tfjs.params_trainable}, torch ${torch.buffers}`));
  lines.push(`tfjs  ${tfjs instanceof Error ? `FAILED: ${tfjs.message}` : ms(tfjs) + rate(tfjs)}`);
  lines.push(`torch ${torch instanceof Error ? `FAILED: ${torch.message}` : ms(torch) + rate(torch)}`);
  if (!(tfjs instanceof Error) && !(torch instanceof Error)) {
    const nativeThreads = tfjs.native_threads === undefined ? "" : `, oneDNN ${tfjs.native_threads}`;
    lines.push(`ratio tfjs/torch: ${(tfjs.median_ms / torch.median_ms).toFixed(2)}x  (threads: tfjs wasm ${tfjs.wasm_threads ?? "n/a"}${nativeThreads}; torch ${torch.threads}; machine ${cores} logical cores)`);
  }
  if (!(tfjs instanceof Error)) {
    const [a, b] = [tfjs.memory.first, tfjs.memory.last];
    const growth = b.rss_mb - a.rss_mb;
    lines.push(`tfjs  memory: peak RSS ${fixed(tfjs.peak_rss_mb)} MB (${tfjs.peak_rss_scope}); first -> last timed step: RSS ${fixed(a.rss_mb)} -> ${fixed(b.rss_mb)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)}), ` +
      `JS heap ${fixed(a.js_heap_mb, 1)} -> ${fixed(b.js_heap_mb, 1)} MB, wasm heap ${fixed(a.wasm_heap_mb)} -> ${fixed(b.wasm_heap_mb)} MB, tensors ${fixed(a.tf_mb)} -> ${fixed(b.tf_mb)} MB; ` +
      `numTensors ${tfjs.tensors.before} -> ${tfjs.tensors.after}${tfjs.tensors.before === tfjs.tensors.after ? " (equal)" : " (LEAK!)"}`);
    if (tfjs.tensors.before !== tfjs.tensors.after) ok = false;
  }
  if (!(torch instanceof Error)) {
    const growth = torch.rss_mb.last - torch.rss_mb.first;
    lines.push(`torch memory: peak RSS ${fixed(torch.peak_rss_mb)} MB (${torch.peak_rss_scope}); first -> last timed step: RSS ${fixed(torch.rss_mb.first)} -> ${fixed(torch.rss_mb.last)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)})`);
  }
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  const busy = [run.others.torch, run.others.tfjs].some((v) => v !== undefined && v > BUSY_CORES);
  lines.push(`load average before torch ${load(run.load.beforeTorch)}, before tfjs ${load(run.load.beforeTfjs)}; ` +
    `other programs' CPU use: during torch ${fixed(run.others.torch, 2)}, during tfjs ${fixed(run.others.tfjs, 2)} of ${cores} cores` +
    (busy ? ` (above ${BUSY_CORES}: the machine was busy, these times are not comparable)` : ""));
  return { lines, ok };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.threads !== undefined) process.env.ANATOMY_SSL_WASM_THREADS = String(o.threads);
  if (o.worker !== undefined) {
    const ref = references({ ...o, only: o.worker })[0];
    console.log(JSON.stringify(await tfjsWorker(o, ref)));
    return;
  }

  const cores = os.availableParallelism();
  const threads = o.threads ?? requestedWasmThreads();
  const loadStart = os.loadavg();
  const started = performance.now();
  const runs: RefRun[] = [];
  for (const ref of references(o)) {
    const beforeTorch = os.loadavg();
    const [c0, t0] = [cpuSeconds(), performance.now()];
    const torch = await runTorch(o, ref, threads);
    const [c1, t1] = [cpuSeconds(), performance.now()];
    const beforeTfjs = os.loadavg();
    const tfjs = await runTfjs(ref);
    const [c2, t2] = [cpuSeconds(), performance.now()];
    runs.push({
      ref, torch, tfjs,
      others: { torch: othersCores(c0, c1, (t1 - t0) / 1000), tfjs: othersCores(c1, c2, (t2 - t1) / 1000) },
      load: { beforeTorch, beforeTfjs },
    });
  }
  const loadEnd = os.loadavg();

  const first = runs.map((r) => r.tfjs).find((t): t is TfjsResult => !(t instanceof Error));
  const firstTorch = runs.map((r) => r.torch).find((t): t is TorchResult => !(t instanceof Error));
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  console.log(`U-Net train step, tfjs vs PyTorch CPU: ${runs.map((r) => r.ref.key).join(" and ")} reference${runs.length > 1 ? "s" : ""}`);
  console.log(`steps: ${o.warmup} warm-up + ${o.steps} timed; each engine in its own process, one after the other (torch, then tfjs, per reference)`);
  console.log(`cpu: ${cpuModel()} (${cores} logical cores); node ${process.version}, tfjs ${tf.version_core}, ${firstTorch?.engine ?? "pytorch ?"}`);
  console.log(`tfjs backend: ${first?.backend ?? "?"}`);
  console.log(`native oneDNN kernels: ${first?.native ?? "?"} (ANATOMY_SSL_NATIVE=0 turns them off)`);
  console.log(`threads: tfjs wasm ${first?.wasm_threads ?? "?"}${first?.native_threads === undefined ? "" : `, oneDNN (OpenMP) ${first.native_threads}`}; ` +
    `torch ${firstTorch?.threads ?? "?"} (interop ${firstTorch?.interop_threads ?? "?"}); machine ${cores} logical cores`);
  console.log(`load average (1/5/15 min): start ${la(loadStart)}; end ${la(loadEnd)}; wall ${((performance.now() - started) / 1000).toFixed(0)} s`);
  let ok = true;
  for (const run of runs) {
    const r = report(run, cores);
    ok &&= r.ok;
    console.log("");
    for (const line of r.lines) console.log(line);
  }
  console.log("");
  console.log("summary (median ms/step)    tfjs    torch  tfjs/torch");
  for (const { ref, tfjs, torch } of runs) {
    const a = tfjs instanceof Error ? undefined : tfjs.median_ms;
    const b = torch instanceof Error ? undefined : torch.median_ms;
    console.log(`  ${ref.key} reference          ${fixed(a).padStart(6)}  ${fixed(b).padStart(6)}  ${a !== undefined && b !== undefined ? (a / b).toFixed(2) + "x" : "?"}`);
  }
  if (o.json) {
    const errorText = <T>(v: T | Error) => (v instanceof Error ? v.message : v);
    console.log(JSON.stringify({
      options: o, cpu: cpuModel(), cores, load: { start: loadStart, end: loadEnd },
      runs: runs.map((r) => ({ reference: r.ref.key, title: r.ref.title, formula: r.ref.formula, others: r.others, load: r.load, tfjs: errorText(r.tfjs), torch: errorText(r.torch) })),
    }));
  }
  if (!ok) process.exitCode = 1;
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
