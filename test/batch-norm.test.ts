/**
 * The fused training batch norm (src/backend/kernels/batch-norm-train.ts, native/dnnl_kernels.cc)
 * and the BatchNorm layer (src/models/batch-norm.ts) against independent computations:
 *
 *   - on cpu, the layer against tf.layers.batchNormalization (tf.moments + tf.batchNorm and
 *     autodiff) for rank 2 and 4: forward in training and inference mode, gradients wrt input,
 *     gamma and beta, moving statistics after two training calls, weight names; for rank 5 (which
 *     tfjs's layer rejects) against a float64 hand computation and tf.moments + tf.batchNorm
 *     autodiff;
 *   - the kernels on wasm, with the oneDNN addon and with setNativeEnabled(false), against cpu and
 *     a float64 hand computation, on x = 1000 + noise (the mean dwarfs the spread: a one-pass or
 *     expanded formula in float32 loses the signal);
 *   - a tiny U-Net trained 3 Adam steps on wasm: same losses with the addon on and off (and on
 *     cpu), and the layer surviving model.toJSON / tf.models.modelFromJSON.
 *
 * Tensors never outlive a backend switch; IS_TEST makes the engine check every kernel call for
 * leaked buffers, and each block checks the tensor count returns to where it started.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels } from "../src/backend/kernels/index.js";
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from "../src/backend/kernels/batch-norm-train.js";
import { setNativeEnabled } from "../src/backend/native/addon.js";
import { addonMissing, skipWithoutAddon } from "./helpers/native.js";
import { BatchNorm, batchNormTraining } from "../src/models/batch-norm.js";
import { buildUNet2D } from "../src/models/unet2d.js";
import { Random } from "../src/random.js";
import { crossEntropy } from "../src/train/losses.js";

const MOMENTUM = 0.9;
const EPSILON = 1e-5;

// ---- helpers -------------------------------------------------------------------------------------

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Uniform(lo, hi) float32 numbers from a seed (the same on every backend). */
function uniform(seed: number, n: number, lo: number, hi: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

/** max|got - ref| / max(1e-6, max|ref|). */
function relativeError(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  assert.equal(got.length, ref.length, "sizes differ");
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Number.isNaN(got[i]) ? Infinity : Math.abs(ref[i] - got[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(1e-6, scale);
}

function assertClose(ref: ArrayLike<number>, got: ArrayLike<number>, tolerance: number, what: string): number {
  const err = relativeError(ref, got);
  assert.ok(err < tolerance, `${what}: relative error ${err.toExponential(2)} >= ${tolerance}`);
  return err;
}

/** Runs fn in an engine scope and returns its tensors as plain arrays; nothing survives. */
function read(fn: () => tf.Tensor[]): Float32Array[] {
  tf.engine().startScope();
  try {
    return fn().map((t) => Float32Array.from(t.dataSync()));
  } finally {
    tf.engine().endScope();
  }
}

interface Hand {
  mean: Float64Array;
  variance: Float64Array;
  y: Float64Array;
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/**
 * Training batch norm over the last axis in float64, straight from the definitions: mean, biased
 * variance, y = gamma (x - mean) / sqrt(var + eps) + beta; and for L = sum(dy * y)
 * dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / sqrt(var + eps) (dy - mean(dy) - xhat mean(dy xhat)).
 */
function handBatchNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, dy: Float32Array, eps: number): Hand {
  const c = gamma.length;
  const m = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / m;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2 / m;
  const xhat = Float64Array.from(x, (v, i) => (v - mean[i % c]) / Math.sqrt(variance[i % c] + eps));
  const y = Float64Array.from(xhat, (v, i) => gamma[i % c] * v + beta[i % c]);
  const dbeta = new Float64Array(c);
  const dgamma = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    dbeta[i % c] += dy[i];
    dgamma[i % c] += dy[i] * xhat[i];
  }
  const dx = Float64Array.from(dy, (g, i) => {
    const k = i % c;
    return (gamma[k] / Math.sqrt(variance[k] + eps)) * (g - dbeta[k] / m - (xhat[i] * dgamma[k]) / m);
  });
  return { mean, variance, y, dx, dgamma, dbeta };
}


// Our wasm kernels must be registered before the wasm backend starts.
registerTrainingKernels();
tf.env().set("IS_TEST", true);

// ---- the layer against tf.layers.batchNormalization (cpu) ---------------------------------------

describe("BatchNorm layer vs tf.layers.batchNormalization (cpu)", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  for (const shape of [[12, 5], [2, 3, 4, 5]]) {
    test(`rank ${shape.length} [${shape}]: forward, gradients, moving statistics, weight names`, (t) => {
      const tensorsBefore = tf.memory().numTensors;
      const c = shape[shape.length - 1];
      const n = size(shape);
      const ours = new BatchNorm({ name: "bn", momentum: MOMENTUM, epsilon: EPSILON });
      const ref = tf.layers.batchNormalization({ name: "bn", momentum: MOMENTUM, epsilon: EPSILON });
      // non-trivial starting weights, the same in both
      const start = [uniform(1, c, 0.5, 1.5), uniform(2, c, -1, 1), uniform(3, c, -0.5, 0.5), uniform(4, c, 0.5, 2)];
      for (const layer of [ours, ref]) {
        read(() => [layer.apply(tf.zeros(shape)) as tf.Tensor]); // builds the weights, as a model would
        const w = start.map((v) => tf.tensor1d(v));
        layer.setWeights(w);
        tf.dispose(w);
      }
      const names = (l: tf.layers.Layer) => l.weights.map((w) => w.originalName);
      assert.deepEqual(names(ours), ["bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]);
      assert.deepEqual(names(ours), names(ref));
      assert.deepEqual(ours.trainableWeights.map((w) => w.originalName), ref.trainableWeights.map((w) => w.originalName));
      assert.deepEqual(ours.weights.map((w) => w.shape), ref.weights.map((w) => w.shape));

      const x1 = tf.tensor(uniform(10, n, -2, 3), shape);
      const x2Start = tf.tensor(uniform(11, n, 1, 4), shape);
      const x2 = tf.variable(x2Start, true, `bn-x2-${shape.length}`);
      x2Start.dispose();
      const up = tf.tensor(uniform(12, n, -1, 1), shape);
      const x3 = tf.tensor(uniform(13, n, -1, 2), shape);
      const errors: string[] = [];
      const compare = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => errors.push(`${what} ${assertClose(a, b, tol, what).toExponential(1)}`);

      // training call 1: forward
      const [y1Ours, y1Ref] = [ours, ref].map((l) => read(() => [l.apply(x1, { training: true }) as tf.Tensor])[0]);
      compare("training y", y1Ref, y1Ours);
      // training call 2: gradients of sum(up * y) wrt x, gamma and beta
      const gradsOf = (l: tf.layers.Layer) =>
        read(() => {
          const vars = [x2, ...l.trainableWeights.map((w) => w.read() as tf.Variable)];
          const { grads } = tf.variableGrads(() => tf.sum(tf.mul(l.apply(x2, { training: true }) as tf.Tensor, up)) as tf.Scalar, vars);
          return vars.map((v) => grads[v.name]);
        });
      const [gOurs, gRef] = [gradsOf(ours), gradsOf(ref)];
      ["dx", "dgamma", "dbeta"].forEach((what, i) => compare(what, gRef[i], gOurs[i]));
      // moving statistics after the two calls
      const [wOurs, wRef] = [ours, ref].map((l) => l.getWeights().map((w) => Float32Array.from(w.dataSync())));
      compare("moving_mean", wRef[2], wOurs[2]);
      compare("moving_variance", wRef[3], wOurs[3]);
      // they moved: the test would pass vacuously if neither layer updated them
      assert.ok(relativeError(start[2], wOurs[2]) > 1e-2 && relativeError(start[3], wOurs[3]) > 1e-2, "moving statistics did not move");
      // inference uses the moving statistics
      const [y3Ours, y3Ref] = [ours, ref].map((l) => read(() => [l.apply(x3, { training: false }) as tf.Tensor])[0]);
      compare("inference y", y3Ref, y3Ours);
      const [yDefault] = read(() => [ours.apply(x3) as tf.Tensor]);
      compare("inference y (no training flag)", y3Ref, yDefault);
      t.diagnostic(errors.join(", "));

      tf.dispose([x1, x2, up, x3]);
      ours.dispose();
      ref.dispose();
      assert.equal(tf.memory().numTensors, tensorsBefore, "leaked tensors");
    });
  }

  test("rank 5 (tfjs's layer rejects it): float64 hand computation and tf.moments + tf.batchNorm autodiff", (t) => {
    const tensorsBefore = tf.memory().numTensors;
    const shape = [2, 3, 2, 4, 3];
    const c = shape[4];
    const n = size(shape);
    const zeros = tf.zeros(shape);
    const tfjsLayer = tf.layers.batchNormalization({ epsilon: EPSILON });
    assert.throws(() => tfjsLayer.apply(zeros, { training: true }), /rank/i, "tfjs's layer accepts rank 5 now: compare with it directly");
    tf.dispose([zeros, ...tfjsLayer.weights.map((w) => w.read())]); // built before it threw
    const gamma = uniform(20, c, 0.5, 1.5);
    const beta = uniform(21, c, -1, 1);
    const x = uniform(22, n, -1, 3);
    const dy = uniform(23, n, -1, 1);
    const x2 = uniform(24, n, 0, 2);
    const hand = handBatchNorm(x, gamma, beta, dy, EPSILON);

    const layer = new BatchNorm({ name: "bn5", momentum: MOMENTUM, epsilon: EPSILON });
    read(() => [layer.apply(tf.zeros(shape)) as tf.Tensor]);
    const w = [tf.tensor1d(gamma), tf.tensor1d(beta), tf.zeros([c]), tf.ones([c])];
    layer.setWeights(w);
    tf.dispose(w);
    const errors: string[] = [];
    const compare = (what: string, a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => errors.push(`${what} ${assertClose(a, b, tol, what).toExponential(1)}`);

    // forward in training mode and the statistics it reports
    const [y, mean, variance] = read(() => batchNormTraining(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), EPSILON));
    compare("y", hand.y, y);
    compare("mean", hand.mean, mean);
    compare("variance (biased)", hand.variance, variance);
    // the layer: the same y, then moving = 0.9 * start + 0.1 * batch
    const [yLayer] = read(() => [layer.apply(tf.tensor(x, shape), { training: true }) as tf.Tensor]);
    compare("layer y", hand.y, yLayer);
    const weights = layer.getWeights().map((v) => Float32Array.from(v.dataSync()));
    compare("moving_mean", Float64Array.from(hand.mean, (v) => (1 - MOMENTUM) * v), weights[2]);
    compare("moving_variance", Float64Array.from(hand.variance, (v) => MOMENTUM + (1 - MOMENTUM) * v), weights[3]);
    // inference normalises with those
    const [yInfer] = read(() => [layer.apply(tf.tensor(x2, shape), { training: false }) as tf.Tensor]);
    const inferred = Float64Array.from(x2, (v, i) => gamma[i % c] * (v - weights[2][i % c]) / Math.sqrt(weights[3][i % c] + EPSILON) + beta[i % c]);
    compare("inference y", inferred, yInfer);

    // gradients: the fused kernels vs autodiff vs float64. tf.batchNorm's own gradient fails at
    // rank 5 (tfjs 4.22 tiles with 4 reps), and normalising over every axis but the last does not
    // depend on how those axes are shaped: autodiff runs on x viewed as [m, c]; a second autodiff
    // spells batch norm out in broadcasting ops on the rank-5 tensor itself.
    const gradsOf = (f: (a: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor) =>
      read(() =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => f(a, g as tf.Tensor1D, b as tf.Tensor1D))(
          [tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)], tf.tensor(dy, shape)));
    const fused = gradsOf((a, g, b) => batchNormTraining(a, g, b, EPSILON)[0]);
    const viaBatchNorm = gradsOf((a, g, b) => {
      const flat = tf.reshape(a, [-1, c]);
      const m = tf.moments(flat, [0]);
      return tf.reshape(tf.batchNorm(flat, m.mean, m.variance, b, g, EPSILON), shape);
    });
    const spelledOut = gradsOf((a, g, b) => {
      const m = tf.moments(a, [0, 1, 2, 3]);
      return tf.add(tf.mul(tf.mul(tf.sub(a, m.mean), tf.rsqrt(tf.add(m.variance, EPSILON))), g), b);
    });
    ["dx", "dgamma", "dbeta"].forEach((what, i) => {
      compare(`${what} vs tf.moments+tf.batchNorm autodiff`, viaBatchNorm[i], fused[i]);
      compare(`${what} vs rank-5 autodiff`, spelledOut[i], fused[i]);
      compare(`${what} vs float64`, [hand.dx, hand.dgamma, hand.dbeta][i], fused[i]);
    });
    t.diagnostic(errors.join(", "));
    layer.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, "leaked tensors");
  });

  test("without the fused kernel (other backends) batchNormTraining falls back to the same numbers, rank 2, 4 and 5", (t) => {
    // Unregister the cpu kernel for the duration: models/batch-norm.ts then takes its
    // tf.moments + tf.batchNorm path, the one tfjs-node and webgl run.
    const kernel = tf.getKernel(BATCH_NORM_TRAIN, "cpu");
    assert.ok(kernel, "the cpu batch norm kernel is not registered");
    const errors: string[] = [];
    const failures: string[] = [];
    tf.unregisterKernel(BATCH_NORM_TRAIN, "cpu");
    try {
      for (const shape of [[12, 5], [2, 3, 4, 5], [2, 3, 2, 4, 3]]) {
        const c = shape[shape.length - 1];
        const n = size(shape);
        const [gamma, beta, x, dy] = [uniform(40, c, 0.5, 1.5), uniform(41, c, -1, 1), uniform(42, n, -1, 3), uniform(43, n, -1, 1)];
        const hand = handBatchNorm(x, gamma, beta, dy, EPSILON);
        try {
          const [y, mean, variance] = read(() => batchNormTraining(tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta), EPSILON));
          const grads = read(() =>
            tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, EPSILON)[0])(
              [tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)], tf.tensor(dy, shape)));
          const worst = Math.max(...[[hand.y, y], [hand.mean, mean], [hand.variance, variance], [hand.dx, grads[0]], [hand.dgamma, grads[1]], [hand.dbeta, grads[2]]]
            .map(([a, b]) => relativeError(a, b)));
          if (!(worst < 1e-5)) failures.push(`rank ${shape.length}: relative error ${worst.toExponential(2)}`);
          errors.push(`rank ${shape.length} ${worst.toExponential(1)}`);
        } catch (e) {
          failures.push(`rank ${shape.length} [${shape}]: ${(e as Error).message}`);
        }
      }
    } finally {
      tf.registerKernel(kernel);
    }
    t.diagnostic(errors.join(", "));
    assert.deepEqual(failures, []);
  });

  test("a frozen layer (trainable = false) still normalises with batch statistics in training mode, as tfjs's does", () => {
    const x = tf.tensor(uniform(30, 24, 5, 9), [6, 4]);
    const ours = new BatchNorm({ epsilon: EPSILON, trainable: false });
    const ref = tf.layers.batchNormalization({ epsilon: EPSILON, trainable: false });
    const [a, b] = [ours, ref].map((l) => read(() => [l.apply(x, { training: true }) as tf.Tensor])[0]);
    assertClose(b, a, 1e-5, "frozen training y");
    assert.ok(Math.abs(a.reduce((s, v) => s + v, 0)) < 1e-3, "batch statistics were not used");
    assert.equal(ours.trainableWeights.length, 0);
    tf.dispose(x);
    ours.dispose();
    ref.dispose();
  });
});

// ---- the kernels on wasm: native and pure, against cpu and float64 -----------------------------

describe("training batch norm kernels on wasm match cpu and float64 (x = 1000 + noise)", () => {
  const TOLERANCE = 1e-4;
  /**
   * Against float64 the kernels cannot do better than the float32 mean they hand from forward to
   * backward allows: half an ulp of 1000 (3e-5) shifts xhat by 3e-5 / sd, which shows in dgamma
   * at ~8e-5 relative here on every backend, cpu included. Hence twice the tolerance.
   */
  const FLOAT64_TOLERANCE = 2e-4;
  const OUTPUTS = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];
  interface BnCase {
    shape: number[];
    x: Float32Array;
    gamma: Float32Array;
    beta: Float32Array;
    dy: Float32Array;
  }
  const bnCases: BnCase[] = [];
  for (const [i, shape] of [[2, 5, 6, 1], [2, 5, 6, 3], [2, 5, 6, 16], [40, 3], [2, 3, 2, 4, 16], [1, 1, 7, 16]].entries()) {
    const c = shape[shape.length - 1];
    const n = size(shape);
    bnCases.push({
      shape,
      x: uniform(100 + i, n, 999, 1001), // mean 1000, sd 0.58
      gamma: uniform(200 + i, c, 0.5, 1.5),
      beta: uniform(300 + i, c, -1, 1),
      dy: uniform(400 + i, n, -1, 1),
    });
  }
  /** [y, mean, variance, dx, dgamma, dbeta] on the current backend, and the leaked buffer count. */
  function run(k: BnCase): { outputs: Float32Array[]; leaked: number } {
    const backend = tf.engine().backend;
    const buffers = backend.numDataIds();
    const outputs = read(() => {
      const x = tf.tensor(k.x, k.shape);
      const gamma = tf.tensor1d(k.gamma);
      const beta = tf.tensor1d(k.beta);
      const forward = batchNormTraining(x, gamma, beta, EPSILON);
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, EPSILON)[0])(
        [x, gamma, beta], tf.tensor(k.dy, k.shape));
      return [...forward, ...grads];
    });
    return { outputs, leaked: backend.numDataIds() - buffers };
  }
  const results: Record<"cpu" | "native" | "pure", Float32Array[][]> = { cpu: [], native: [], pure: [] };
  let nativeRan = false;

  before(async () => {
    await tf.setBackend("cpu");
    for (const k of bnCases) results.cpu.push(run(k).outputs);
    await tf.setBackend("wasm");
    assert.ok(tf.getKernel(BATCH_NORM_TRAIN, "wasm") && tf.getKernel(BATCH_NORM_TRAIN_GRAD, "wasm"), "wasm batch norm kernels not registered");
    const check = (r: { outputs: Float32Array[]; leaked: number }) => {
      assert.equal(r.leaked, 0, "leaked wasm buffers");
      return r.outputs;
    };
    try {
      if (addonMissing() === undefined) {
        setNativeEnabled(true);
        for (const k of bnCases) results.native.push(check(run(k)));
        nativeRan = true;
      }
      setNativeEnabled(false);
      for (const k of bnCases) results.pure.push(check(run(k)));
    } finally {
      setNativeEnabled(true);
    }
    await tf.setBackend("cpu");
  });

  /** Worst error per output name over all cases, failing above the tolerance. */
  function compareAll(t: { diagnostic(m: string): void }, refOf: (i: number) => ArrayLike<number>[], got: Float32Array[][], label: string, tolerance = TOLERANCE): void {
    const worst = OUTPUTS.map(() => ({ err: 0, where: "" }));
    const failures: string[] = [];
    bnCases.forEach((k, i) => {
      const ref = refOf(i);
      OUTPUTS.forEach((name, j) => {
        const err = relativeError(ref[j], got[i][j]);
        if (!(err < tolerance)) failures.push(`[${k.shape}] ${name}: ${err.toExponential(2)}`);
        if (err >= worst[j].err) worst[j] = { err, where: `[${k.shape}]` };
      });
    });
    t.diagnostic(`${label}: ${OUTPUTS.map((name, j) => `${name} ${worst[j].err.toExponential(1)} ${worst[j].where}`).join(", ")}`);
    assert.deepEqual(failures, [], `${label}: relative errors >= ${tolerance}`);
  }
  const hand = (i: number) => {
    const k = bnCases[i];
    const h = handBatchNorm(k.x, k.gamma, k.beta, k.dy, EPSILON);
    return [h.y, h.mean, h.variance, h.dx, h.dgamma, h.dbeta];
  };

  test("cpu kernels vs float64", (t) => compareAll(t, hand, results.cpu, "cpu vs float64", FLOAT64_TOLERANCE));
  test("wasm, oneDNN addon: vs cpu and vs float64", (t) => {
    if (skipWithoutAddon(t)) return;
    assert.ok(nativeRan);
    compareAll(t, (i) => results.cpu[i], results.native, "native vs cpu");
    compareAll(t, hand, results.native, "native vs float64", FLOAT64_TOLERANCE);
  });
  test("wasm, setNativeEnabled(false): vs cpu and vs float64", (t) => {
    compareAll(t, (i) => results.cpu[i], results.pure, "pure vs cpu");
    compareAll(t, hand, results.pure, "pure vs float64", FLOAT64_TOLERANCE);
  });
});

// ---- a tiny U-Net: training on wasm with and without the addon, and JSON round trip -------------

describe("2D U-Net with BatchNorm layers", () => {
  // Kernel-level leak checks are off here: tfjs's own softmaxCrossEntropy (a custom-gradient op)
  // trips them on cpu. Our kernels were checked above; train() checks the tensor count instead.
  before(() => tf.env().set("IS_TEST", false));
  after(() => tf.env().set("IS_TEST", true));
  const CONFIG = { height: 16, width: 16, inChannels: 1, nClasses: 3, depth: 2, baseFilters: 4, seed: 5 };
  const image = uniform(500, 2 * 16 * 16, -1, 1);
  const labels = Int32Array.from(uniform(501, 2 * 16 * 16, 0, 3), (v) => Math.min(2, Math.floor(v)));

  /** Losses of 3 Adam steps from the seeded weights, then the inference logits. */
  function train(): { losses: number[]; logits: Float32Array } {
    const tensorsBefore = tf.memory().numTensors;
    const model = buildUNet2D(CONFIG);
    const optimizer = tf.train.adam(0.01);
    const x = tf.tensor4d(image, [2, 16, 16, 1]);
    const y = tf.tensor3d(labels, [2, 16, 16], "int32");
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = optimizer.minimize(() => crossEntropy(model.apply(x, { training: true }) as tf.Tensor4D, y), true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    const [logits] = read(() => [model.predict(x) as tf.Tensor]);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, "leaked tensors");
    return { losses, logits };
  }

  test("3 Adam steps on wasm give the same losses with the addon on and off (and on cpu)", async (t) => {
    await tf.setBackend("cpu");
    const cpu = train();
    await tf.setBackend("wasm");
    let native: ReturnType<typeof train> | undefined;
    let pure: ReturnType<typeof train>;
    try {
      if (addonMissing() === undefined) {
        setNativeEnabled(true);
        native = train();
      }
      setNativeEnabled(false);
      pure = train();
    } finally {
      setNativeEnabled(true);
      await tf.setBackend("cpu");
    }
    const show = (r: { losses: number[] }) => r.losses.map((l) => l.toFixed(6)).join(" ");
    t.diagnostic(`losses: cpu ${show(cpu)}; pure wasm ${show(pure)}${native ? `; native ${show(native)}` : ""}`);
    assert.ok(cpu.losses[2] < cpu.losses[0], "training did not reduce the loss");
    assertClose(cpu.losses, pure.losses, 1e-4, "losses pure wasm vs cpu");
    const errors = [`logits pure vs cpu ${relativeError(cpu.logits, pure.logits).toExponential(1)}`];
    if (native === undefined) {
      if (skipWithoutAddon(t)) return;
    } else {
      assertClose(pure.losses, native.losses, 1e-4, "losses native vs pure wasm");
      assertClose(cpu.losses, native.losses, 1e-4, "losses native vs cpu");
      errors.push(`losses native vs pure ${relativeError(pure.losses, native.losses).toExponential(1)}`);
      errors.push(`logits native vs pure ${relativeError(pure.logits, native.logits).toExponential(1)}`);
      assertClose(pure.logits, native.logits, 1e-3, "inference logits native vs pure wasm");
    }
    assertClose(cpu.logits, pure.logits, 1e-3, "inference logits pure wasm vs cpu");
    t.diagnostic(errors.join(", "));
  });

  test("the layer round-trips through model.toJSON / tf.models.modelFromJSON", async () => {
    await tf.setBackend("cpu");
    const tensorsBefore = tf.memory().numTensors;
    assert.equal(tf.serialization.SerializationMap.getMap().classNameMap[BatchNorm.className]?.[0], BatchNorm, "BatchNorm is not registered");
    const model = buildUNet2D(CONFIG);
    const json = model.toJSON(undefined, false);
    const text = JSON.stringify(json);
    assert.equal(text.match(/"class_name":"AnatomySslBatchNorm"/g)?.length, 6, "3 conv blocks (enc0, enc1, dec0) of 2 BatchNorm layers in the JSON");
    const copy = await tf.models.modelFromJSON({ modelTopology: JSON.parse(text) });
    const bns = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === BatchNorm.className);
    assert.equal(bns(copy).length, 6);
    for (const l of bns(copy)) {
      assert.ok(l instanceof BatchNorm, `${l.name} is not a BatchNorm`);
      assert.equal(l.momentum, MOMENTUM);
      assert.equal(l.epsilon, EPSILON);
    }
    assert.deepEqual(bns(copy).map((l) => l.name), bns(model).map((l) => l.name));
    assert.deepEqual(copy.weights.map((w) => w.originalName), model.weights.map((w) => w.originalName));
    assert.deepEqual(copy.weights.map((w) => w.trainable), model.weights.map((w) => w.trainable));
    // with the weights copied, the same numbers in training and inference mode
    const x = tf.tensor4d(uniform(600, 2 * 16 * 16, -1, 1), [2, 16, 16, 1]);
    // the same weights in both, with moving statistics away from their 0/1 start
    const weights = model.weights.map((w) => (w.originalName.includes("moving") ? tf.add(w.read(), 0.25) : w.read().clone()));
    model.setWeights(weights);
    copy.setWeights(weights);
    tf.dispose(weights);
    for (const training of [true, false]) {
      const [a, b] = [model, copy].map((m) => read(() => [m.apply(x, { training }) as tf.Tensor])[0]);
      assertClose(a, b, 1e-6, `round-tripped model, training=${training}`);
    }
    tf.dispose([x]);
    model.dispose();
    copy.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, "leaked tensors");
  });
});
