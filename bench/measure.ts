/**
 * What the training-step benchmarks (bench/train-step.ts, bench/kidney-siamese-step.ts) measure
 * besides time: the work of a step, for GFLOP/s, and the CPU other programs took meanwhile.
 */
import { readFileSync } from "node:fs";
import { tf } from "../src/backend/index.js";

/**
 * Forward multiply-add FLOPs (2 per MAC) of the conv layers, times 3 for a training step
 * (forward, input gradient, weight gradient). BN, ReLU, pooling and Adam are left out: they are
 * a few percent.
 */
export function trainingFlops(model: tf.LayersModel, batch: number): number {
  let forward = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const transposed = cls === "Conv2DTranspose" || cls === "Conv3DTranspose";
    if (!transposed && cls !== "Conv2D" && cls !== "Conv3D") continue;
    // kernel [k..., in, out] (transposed: [k..., out, in]); MACs per position = its size
    const macsPerPosition = layer.getWeights()[0].size;
    // A conv visits every output position; a transposed conv every input position.
    const shape = (transposed ? (layer.input as tf.SymbolicTensor).shape : layer.outputShape) as number[];
    forward += 2 * macsPerPosition * shape.slice(1, -1).reduce((a, b) => a * b, 1) * batch;
  }
  return 3 * forward;
}

/**
 * CPU time (s) used so far by the whole machine and by this process plus its waited-for children
 * (the engine runs), from /proc. The difference over a run is what other programs took: the load
 * average lags by a minute, this does not. Undefined where /proc is missing.
 */
export function cpuSeconds(): { machine: number; self: number } | undefined {
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

/** Cores other programs used on average between two cpuSeconds() readings. */
export function othersCores(a: ReturnType<typeof cpuSeconds>, b: ReturnType<typeof cpuSeconds>, wallSeconds: number): number | undefined {
  if (!a || !b || wallSeconds <= 0) return undefined;
  return Math.max(0, b.machine - a.machine - (b.self - a.self)) / wallSeconds;
}

/** Other programs' average CPU use (cores) above which a run is flagged as not comparable. */
export const BUSY_CORES = 0.05;
