/**
 * The 3D U-Net builder (src/models/unet3d.ts) and the conv3dTranspose gradient it needs
 * (src/backend/kernels/conv3d-transpose-gradient.ts).
 *
 * On the cpu backend: the gradient against central finite differences (the op is linear in each
 * input, so the differences are exact up to float rounding), the parameter count against a hand
 * count and the formula, output shape, layer names, a gradient for every trainable weight. Then
 * three Adam steps of a tiny 3D U-Net on cpu, on wasm (with the oneDNN addon when it is built),
 * and on wasm without the addon: the losses must agree within 1e-3 relative. The backend switches
 * once, to wasm, after every cpu tensor is disposed.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { registerConv3dTransposeGradient } from "../src/backend/kernels/conv3d-transpose-gradient.js";
import { addonUnavailableReason, setNativeEnabled } from "../src/backend/native/addon.js";
import { setupWasm } from "../src/backend/wasm.js";
import { unetPart } from "../src/models/unet2d.js";
import { buildUNet3D, resolveUNet3DConfig, unet3dParamCount, type UNet3DConfig } from "../src/models/unet3d.js";
import { Random } from "../src/random.js";

const TINY: Partial<UNet3DConfig> = { inDepth: 8, height: 8, width: 8, inChannels: 2, nClasses: 3, depth: 3, baseFilters: 2 };

const trainableCount = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);

function uniform(seed: number, n: number): Float32Array {
  const rng = new Random(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe("conv3dTranspose gradient (Conv3DBackpropInputV2)", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  test("is registered once, however often it is asked for", () => {
    registerConv3dTransposeGradient();
    registerConv3dTransposeGradient();
    assert.ok(tf.getGradient(tf.Conv3DBackpropInputV2) !== undefined);
  });

  // [dy shape (the op's input), filter [kd,kh,kw,ci,co], strides, pad, output shape]
  type Case = [number[], number[], number | [number, number, number], "same" | "valid", number[]];
  const cases: Case[] = [
    [[2, 2, 3, 2, 3], [2, 2, 2, 2, 3], 2, "valid", [2, 4, 6, 4, 2]], // the U-Net's upsampling
    [[1, 3, 2, 3, 2], [3, 3, 3, 3, 2], 1, "same", [1, 3, 2, 3, 3]],
    [[1, 2, 2, 3, 2], [3, 3, 3, 2, 2], 2, "same", [1, 4, 4, 6, 2]],
    [[1, 2, 2, 2, 2], [3, 3, 3, 2, 2], [1, 2, 2], "valid", [1, 4, 5, 5, 2]],
  ];
  for (const [dyShape, wShape, strides, pad, outShape] of cases) {
    test(`matches finite differences: dy=${dyShape} filter=${wShape} strides=${strides} pad=${pad}`, () => {
      const dyValues = uniform(1, size(dyShape));
      const wValues = uniform(2, size(wShape));
      const r = tf.tensor(uniform(3, size(outShape)), outShape);
      const f = (d: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv3dTranspose(d as tf.Tensor5D, w as tf.Tensor5D, outShape as [number, number, number, number, number], strides, pad), r));
      const value = (d: Float32Array, w: Float32Array) => tf.tidy(() => f(tf.tensor(d, dyShape), tf.tensor(w, wShape)).dataSync()[0]);
      const [gd, gw] = tf.tidy(() => tf.grads(f)([tf.tensor(dyValues, dyShape), tf.tensor(wValues, wShape)]).map((g) => g.dataSync()));
      // f is linear in each input: a large step loses nothing but keeps rounding small.
      const eps = 0.5;
      const numeric = (which: "dy" | "filter"): Float32Array => {
        const base = which === "dy" ? dyValues : wValues;
        return Float32Array.from(base, (_, i) => {
          const plus = Float32Array.from(base);
          const minus = Float32Array.from(base);
          plus[i] += eps;
          minus[i] -= eps;
          const [fp, fm] = which === "dy" ? [value(plus, wValues), value(minus, wValues)] : [value(dyValues, plus), value(dyValues, minus)];
          return (fp - fm) / (2 * eps);
        });
      };
      for (const [name, analytic, fd] of [["dy", gd, numeric("dy")], ["filter", gw, numeric("filter")]] as const) {
        assert.equal(analytic.length, fd.length);
        const scale = Math.max(1e-6, ...Array.from(fd, Math.abs));
        const worst = Math.max(...Array.from(fd, (v, i) => Math.abs(v - analytic[i])));
        assert.ok(worst / scale < 1e-3, `${name}: max|analytic - finite difference| / max|fd| = ${worst / scale}`);
      }
      r.dispose();
    });
  }
});

describe("buildUNet3D", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  test("output is [batch, D, H, W, nClasses] logits", () => {
    const model = buildUNet3D({ ...TINY, inDepth: 4, width: 12 });
    assert.deepEqual(model.outputs[0].shape, [null, 4, 8, 12, 3]);
    const shape = tf.tidy(() => (model.predict(tf.zeros([2, 4, 8, 12, 2])) as tf.Tensor).shape);
    assert.deepEqual(shape, [2, 4, 8, 12, 3]);
    model.dispose();
  });

  test("parameter count matches the hand count and the formula", () => {
    // filters 2, 4, 8. A level's block: 27*cin*f + 27*f*f conv weights (no bias) + 2 BN of 2f.
    //   enc0 27*2*2 + 27*2*2 + 8 = 224;  enc1 27*2*4 + 27*4*4 + 16 = 664;  enc2 27*4*8 + 27*8*8 + 32 = 2624
    //   dec1 up 8*8*4 + 4 = 260,  block(8 -> 4) 27*8*4 + 27*4*4 + 16 = 1312
    //   dec0 up 8*4*2 + 2 = 66,   block(4 -> 2) 27*4*2 + 27*2*2 + 8 = 332
    //   head 2*3 + 3 = 9                                                total 5491
    const model = buildUNet3D(TINY);
    assert.equal(trainableCount(model), 5491);
    assert.equal(unet3dParamCount(TINY), 5491);
    // BN moving mean and variance are weights too, not trainable: 2 per channel per BN.
    assert.equal(model.countParams() - 5491, 2 * 2 * (2 + 4 + 8 + 4 + 2));
    // The 3D reference of bench/train-step.ts (64^3 x 1, 3 levels, base 8, 2 classes), as PyTorch counts it.
    assert.equal(unet3dParamCount(), 85186);
    model.dispose();
  });

  test("layers are named like the 2D U-Net's: enc{l}_*, dec{l}_*, head", () => {
    const model = buildUNet3D(TINY);
    const names = model.layers.map((l) => l.name);
    assert.deepEqual(
      names.filter((n) => n.endsWith("_conv1") || n.endsWith("_up") || n === "head"),
      ["enc0_conv1", "enc1_conv1", "enc2_conv1", "dec1_up", "dec1_conv1", "dec0_up", "dec0_conv1", "head"],
    );
    for (const n of ["enc0_pool", "enc1_pool", "enc0_bn2", "enc0_relu2", "dec1_concat", "dec0_bn1", "dec0_relu1"]) assert.ok(names.includes(n), n);
    assert.ok(!names.includes("enc2_pool"));
    for (const layer of model.layers) for (const w of layer.weights) assert.equal(unetPart(w.name), unetPart(layer.name), w.name);
    model.dispose();
  });

  test("a gradient reaches every trainable weight", () => {
    const model = buildUNet3D(TINY);
    const x = tf.randomNormal([1, 8, 8, 8, 2], 0, 1, "float32", 3);
    const { value, grads } = tf.variableGrads(() => (model.apply(x, { training: true }) as tf.Tensor).square().mean() as tf.Scalar);
    for (const w of model.trainableWeights) {
      const g = grads[w.name];
      assert.ok(g, `no gradient for ${w.name}`);
      assert.ok(tf.tidy(() => g.abs().max().dataSync()[0]) > 0, `zero gradient for ${w.name}`);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
    model.dispose();
  });

  test("the same seed gives the same weights, another seed other weights", () => {
    const sums = (seed: number) => {
      const model = buildUNet3D({ ...TINY, seed });
      const s = tf.tidy(() => model.getWeights().map((w) => w.sum().dataSync()[0]));
      model.dispose();
      return s;
    };
    const a = sums(0);
    assert.deepEqual(sums(0), a);
    assert.notDeepEqual(sums(1), a);
  });

  test("bad configs are rejected with the field named", () => {
    assert.throws(() => resolveUNet3DConfig({ inDepth: 20, depth: 4 }), /divisible by 2\^\(depth-1\) = 8/);
    assert.throws(() => resolveUNet3DConfig({ baseFilters: 0 }), /baseFilters/);
    assert.throws(() => resolveUNet3DConfig({ seed: -1 }), /seed/);
  });
});

describe("3D U-Net training: wasm against cpu", () => {
  /** Losses of 3 Adam steps of a tiny 3D U-Net on the current backend; nothing left allocated. */
  const train = (): number[] => {
    const nClasses = 2;
    const model = buildUNet3D({ inDepth: 8, height: 8, width: 8, inChannels: 1, nClasses, depth: 2, baseFilters: 2 });
    const optimizer = tf.train.adam(1e-2);
    const x = tf.randomNormal([2, 8, 8, 8, 1], 0, 1, "float32", 1);
    const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([2, 8, 8, 8], 0, nClasses, "int32", 2), nClasses));
    const losses: number[] = [];
    const tensors: number[] = [];
    for (let i = 0; i < 3; i++) {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor), true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      tensors.push(tf.memory().numTensors);
    }
    tf.dispose([x, labels]);
    optimizer.dispose();
    model.dispose();
    // Adam creates its moment variables in the first step; after that nothing may accumulate.
    assert.deepEqual(tensors, [tensors[0], tensors[0], tensors[0]], `tensors after each step: ${tensors}`);
    return losses;
  };

  const compare = (t: { diagnostic(message: string): void }, label: string, got: number[], reference: number[]) => {
    t.diagnostic(`${label}: losses ${got.map((v) => v.toFixed(6)).join(", ")}`);
    assert.ok(got.every(Number.isFinite), `${label}: losses ${got}`);
    assert.ok(got[2] < got[0], `${label}: loss did not decrease: ${got}`);
    for (let i = 0; i < 3; i++) {
      const rel = Math.abs(got[i] - reference[i]) / Math.abs(reference[i]);
      assert.ok(rel < 1e-3, `${label} step ${i}: loss ${got[i]} vs cpu ${reference[i]} (relative ${rel})`);
    }
  };

  test("3 Adam steps give the cpu backend's losses on wasm, with and without the oneDNN addon", async (t) => {
    await tf.setBackend("cpu");
    const cpu = train();
    t.diagnostic(`cpu: losses ${cpu.map((v) => v.toFixed(6)).join(", ")}`);
    assert.ok(cpu.every(Number.isFinite) && cpu[2] < cpu[0], `cpu losses ${cpu}`);
    assert.equal(tf.memory().numTensors, 0, "cpu tensors left before switching backends");

    await setupWasm();
    const why = addonUnavailableReason();
    try {
      setNativeEnabled(false);
      compare(t, "wasm kernels", train(), cpu);
      setNativeEnabled(true);
      if (why === undefined) compare(t, "wasm + oneDNN", train(), cpu);
      else t.diagnostic(`oneDNN addon not used (${why}): only the wasm kernels were checked`);
    } finally {
      setNativeEnabled(true);
    }
  });
});
