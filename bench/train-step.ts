/**
 * One Adam training step of the reference 2D U-Net on this project's tfjs backend, next to the
 * same network in PyTorch CPU (bench/train_step_torch.py, spawned here) with the same threads.
 *
 *   node dist/bench/train-step.js [--steps 10] [--warmup 2] [--batch 8] [--size 128] [--threads N] [--json]
 *
 * Each option can also come from the environment: BENCH_STEPS, BENCH_WARMUP, BENCH_BATCH,
 * BENCH_SIZE, BENCH_THREADS; BENCH_PYTHON picks the interpreter (default /usr/bin/python3, which
 * has Debian's python3-torch). --threads sets ANATOMY_SSL_WASM_THREADS for the wasm backend and
 * torch.set_num_threads for PyTorch. The two engines run one after the other, never together.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describeBackend, initBackend, tf } from "../src/backend/index.js";
import { buildUNet2D, unet2dParamCount, type UNet2DConfig } from "../src/models/unet2d.js";

interface Options {
  steps: number;
  warmup: number;
  batch: number;
  size: number;
  threads?: number;
  json: boolean;
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
  params_trainable: number;
  buffers: number;
}

/** `--name value`, `--name=value`, or BENCH_NAME; integers >= 1 (warmup may be 0). */
function parseOptions(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i >= 0) return argv[i].includes("=") ? argv[i].split("=")[1] : argv[i + 1];
    return process.env[`BENCH_${name.toUpperCase()}`];
  };
  const int = (name: string, fallback: number | undefined, min = 1): number | undefined => {
    const raw = get(name);
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${raw}`);
    return n;
  };
  const known = ["steps", "warmup", "batch", "size", "threads", "json"];
  for (const a of argv) {
    if (a.startsWith("--") && !known.includes(a.slice(2).split("=")[0])) throw new Error(`unknown option ${a} (known: ${known.map((k) => "--" + k).join(" ")})`);
  }
  return {
    steps: int("steps", 10)!,
    warmup: int("warmup", 2, 0)!,
    batch: int("batch", 8)!,
    size: int("size", 128)!,
    threads: int("threads", undefined),
    json: argv.includes("--json"),
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

/**
 * CPU time (s) used so far by the whole machine and by this process plus its waited-for children
 * (the python run), from /proc. The difference over a run is what other programs took: the load
 * average lags by a minute, this does not. Undefined where /proc is missing.
 */
function cpuSeconds(): { machine: number; self: number } | undefined {
  try {
    const hz = 100; // USER_HZ, 100 on every Linux we know of
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]; // user nice system irq softirq steal
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number); // fields from 3 (state) on
    const own = f[11] + f[12] + f[13] + f[14]; // utime stime cutime cstime
    return { machine: busy / hz, self: own / hz };
  } catch {
    return undefined;
  }
}

/** "other programs used 0.03 of 2 cores" between two cpuSeconds() readings. */
function othersLoad(a: ReturnType<typeof cpuSeconds>, b: ReturnType<typeof cpuSeconds>, wallSeconds: number): string {
  if (!a || !b || wallSeconds <= 0) return "n/a";
  const others = Math.max(0, b.machine - a.machine - (b.self - a.self)) / wallSeconds;
  return `${others.toFixed(2)} of ${os.availableParallelism()} cores`;
}

function summarise(times: number[], losses: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median_ms: median, min_ms: sorted[0], max_ms: sorted[sorted.length - 1], times_ms: times, first_loss: losses[0], last_loss: losses[losses.length - 1] };
}

/**
 * Forward multiply-add FLOPs (2 per MAC) of the conv layers, times 3 for a training step
 * (forward, input gradient, weight gradient). BN, ReLU, pooling and Adam are left out: they are
 * a few percent.
 */
function trainingFlops(model: tf.LayersModel, batch: number): number {
  let forward = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== "Conv2D" && cls !== "Conv2DTranspose") continue;
    // kernel [kh, kw, in, out] (Conv2DTranspose: [kh, kw, out, in]); MACs per position = product
    const macsPerPosition = layer.getWeights()[0].size;
    // Conv2D visits every output pixel; a transposed conv visits every input pixel.
    const shape = (cls === "Conv2D" ? layer.outputShape : (layer.input as tf.SymbolicTensor).shape) as number[];
    forward += 2 * macsPerPosition * shape[1] * shape[2] * batch;
  }
  return 3 * forward;
}

async function runTorch(o: Options, threads: number): Promise<TorchResult | Error> {
  const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
  // The .py file is not compiled: find it next to this file's source (dist/bench/ -> bench/).
  const script = [path.join(__dirname, "train_step_torch.py"), path.join(__dirname, "..", "..", "bench", "train_step_torch.py")].find((p) => {
    try {
      return readFileSync(p).length > 0;
    } catch {
      return false;
    }
  });
  if (!script) return new Error("bench/train_step_torch.py not found");
  const args = [script, "--size", o.size, "--batch", o.batch, "--threads", threads, "--steps", o.steps, "--warmup", o.warmup].map(String);
  // OMP/MKL variables too, so no library starts a bigger pool behind set_num_threads' back.
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  try {
    const { stdout } = await promisify(execFile)(python, args, { env, maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split("\n").pop()!) as TorchResult;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return new Error(`${python} ${path.basename(script)} failed: ${(err.stderr ?? err.message).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

async function runTfjs(o: Options, config: Partial<UNet2DConfig>) {
  const model = buildUNet2D(config);
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([o.batch, o.size, o.size, 1], 0, 1, "float32", 1);
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([o.batch, o.size, o.size], 0, config.nClasses!, "int32", 2), config.nClasses!));
  const step = (): number => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor), true);
    const value = loss!.dataSync()[0]; // waits for the step to finish
    loss!.dispose();
    return value;
  };
  for (let i = 0; i < o.warmup; i++) step();
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t = performance.now();
    losses.push(step());
    times.push(performance.now() - t);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  const trainable = model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  const result = { ...summarise(times, losses), params_trainable: trainable, params_total: model.countParams(), flops: trainingFlops(model, o.batch), leaked_tensors: leaked };
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return result;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.threads !== undefined) process.env.ANATOMY_SSL_WASM_THREADS = String(o.threads);
  const config: Partial<UNet2DConfig> = { height: o.size, width: o.size, inChannels: 1, nClasses: 4, depth: 4, baseFilters: 16, upsampling: "transpose" };
  const loadStart = os.loadavg();

  // Initialise the backend first (it decides the wasm thread count), but train only after
  // PyTorch has finished, so the two never share the cores.
  const backend = await initBackend({ quiet: true });
  const threads = o.threads ?? backend.threads ?? os.availableParallelism();
  const [cpu0, t0] = [cpuSeconds(), performance.now()];
  const torch = await runTorch(o, threads);
  const [cpu1, t1] = [cpuSeconds(), performance.now()];
  const loadMid = os.loadavg();
  let tfjs: Awaited<ReturnType<typeof runTfjs>> | Error;
  try {
    tfjs = await runTfjs(o, config);
  } catch (e) {
    tfjs = e as Error;
  }
  const [cpu2, t2] = [cpuSeconds(), performance.now()];
  const loadEnd = os.loadavg();
  const others = { torch: othersLoad(cpu0, cpu1, (t1 - t0) / 1000), tfjs: othersLoad(cpu1, cpu2, (t2 - t1) / 1000) };

  const ms = (t: Timing) => `${t.median_ms.toFixed(0)} ms/step median (min ${t.min_ms.toFixed(0)}, max ${t.max_ms.toFixed(0)}; loss ${t.first_loss.toFixed(4)} -> ${t.last_loss.toFixed(4)})`;
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  const flops = tfjs instanceof Error ? undefined : tfjs.flops;
  const rate = (t: Timing) => (flops ? `, ${(flops / t.median_ms / 1e6).toFixed(1)} GFLOP/s` : "");
  console.log(`U-Net 2D train step: ${o.size}x${o.size}x1, batch ${o.batch}, 4 levels, base 16, transposed-conv up, 4 classes, Adam, softmax CE`);
  console.log(`steps: ${o.warmup} warm-up + ${o.steps} timed, each engine in turn`);
  console.log(`cpu: ${cpuModel()} (${os.availableParallelism()} logical cores); node ${process.version}, tfjs ${tf.version_core}`);
  console.log(`load average (1/5/15 min): start ${la(loadStart)}; before tfjs ${la(loadMid)}; end ${la(loadEnd)}`);
  console.log(`other programs' CPU use during the runs: torch ${others.torch}, tfjs ${others.tfjs}`);
  console.log(`tfjs backend: ${describeBackend(backend)}`);
  if (flops) console.log(`work: ~${(flops / 1e9).toFixed(1)} GFLOP/step (conv MACs x2, forward x3)`);
  console.log(`params (trainable): tfjs ${tfjs instanceof Error ? "?" : tfjs.params_trainable}, torch ${torch instanceof Error ? "?" : torch.params_trainable}, formula ${unet2dParamCount(config)}` +
    (tfjs instanceof Error || torch instanceof Error ? "" : tfjs.params_trainable === torch.params_trainable ? " (equal)" : " (DIFFERENT!)"));
  if (!(tfjs instanceof Error) && !(torch instanceof Error)) console.log(`BN running stats: tfjs ${tfjs.params_total - tfjs.params_trainable}, torch ${torch.buffers}`);
  console.log(`tfjs  ${tfjs instanceof Error ? `FAILED: ${tfjs.message}` : ms(tfjs) + rate(tfjs)}`);
  console.log(`torch ${torch instanceof Error ? `FAILED: ${torch.message}` : `${ms(torch)}${rate(torch)} [${torch.engine}, ${torch.threads} threads]`}`);
  if (!(tfjs instanceof Error) && !(torch instanceof Error)) {
    console.log(`ratio tfjs/torch: ${(tfjs.median_ms / torch.median_ms).toFixed(2)}x  (threads: tfjs ${backend.threads ?? "n/a"}, torch ${torch.threads})`);
    if (tfjs.leaked_tensors !== 0) console.log(`warning: ${tfjs.leaked_tensors} tensors leaked over ${o.steps} steps`);
  }
  if (o.json) console.log(JSON.stringify({ options: o, backend, cpu: cpuModel(), load: { start: loadStart, mid: loadMid, end: loadEnd }, others, tfjs: tfjs instanceof Error ? tfjs.message : tfjs, torch: torch instanceof Error ? torch.message : torch }));
  if (tfjs instanceof Error || torch instanceof Error) process.exitCode = 1;
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
