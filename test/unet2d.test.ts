/**
 * The 2D U-Net builder on tiny shapes (cpu backend), and the threaded wasm build: 2 threads must
 * give the numbers 1 thread gives, and a program using it must exit by itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { requestedWasmThreads } from "../src/backend/wasm-threads.js";
import { buildUNet2D, resolveUNet2DConfig, unet2dParamCount, unetPart, type UNet2DConfig } from "../src/models/unet2d.js";

const TINY: Partial<UNet2DConfig> = { height: 16, width: 16, inChannels: 2, nClasses: 3, depth: 3, baseFilters: 4 };

const trainableCount = (m: tf.LayersModel) => m.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);

describe("buildUNet2D", () => {
  before(async () => {
    await tf.setBackend("cpu");
  });

  test("output is [batch, H, W, nClasses] logits", () => {
    const model = buildUNet2D(TINY);
    assert.deepEqual(model.outputs[0].shape, [null, 16, 16, 3]);
    const y = model.predict(tf.zeros([2, 16, 16, 2])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 16, 16, 3]);
    tf.dispose([y]);
    model.dispose();
  });

  test("parameter count matches the hand count (transpose and resize upsampling)", () => {
    // filters 4, 8, 16. A level's block: 9*cin*f + 9*f*f conv weights (no bias) + 2 BN of 2f.
    //   enc0 9*2*4 + 9*4*4 + 16 = 232;  enc1 9*4*8 + 9*8*8 + 32 = 896;  enc2 9*8*16 + 9*16*16 + 64 = 3520
    //   dec1 up 2*2*16*8 + 8 = 520, block(16 -> 8) 9*16*8 + 9*8*8 + 32 = 1760
    //   dec0 up 2*2*8*4 + 4 = 132,  block(8 -> 4)  9*8*4 + 9*4*4 + 16 = 448
    //   head 4*3 + 3 = 15                                               total 7523
    // resize: the up convs are 3x3 instead of 2x2: +5*16*8 +5*8*4 = +800
    const transpose = buildUNet2D(TINY);
    assert.equal(trainableCount(transpose), 7523);
    assert.equal(unet2dParamCount(TINY), 7523);
    // BN moving mean and variance are weights too, not trainable: 2 per channel per BN.
    assert.equal(transpose.countParams() - 7523, 2 * 2 * (4 + 8 + 16 + 8 + 4));
    const resize = buildUNet2D({ ...TINY, upsampling: "resize" });
    assert.equal(trainableCount(resize), 8323);
    assert.equal(unet2dParamCount({ ...TINY, upsampling: "resize" }), 8323);
    // The reference benchmark network (bench/train-step.ts) has the PyTorch twin's count.
    assert.equal(unet2dParamCount(), 482500);
    transpose.dispose();
    resize.dispose();
  });

  test("layers are named by part: enc{l}_*, dec{l}_*, head", () => {
    const model = buildUNet2D(TINY);
    const names = model.layers.map((l) => l.name);
    assert.deepEqual(
      names.filter((n) => n.endsWith("_conv1") || n.endsWith("_up") || n === "head"),
      ["enc0_conv1", "enc1_conv1", "enc2_conv1", "dec1_up", "dec1_conv1", "dec0_up", "dec0_conv1", "head"],
    );
    assert.ok(names.includes("enc0_pool") && names.includes("enc1_pool") && !names.includes("enc2_pool"));
    const parts = new Map<string, number>();
    for (const layer of model.layers) {
      if (layer.countParams() === 0) continue;
      const part = unetPart(layer.name);
      parts.set(part, (parts.get(part) ?? 0) + layer.countParams());
      // weight names carry the layer name, possibly with a uniquifying suffix
      for (const w of layer.weights) assert.equal(unetPart(w.name), part, w.name);
    }
    assert.deepEqual([...parts.keys()].sort(), ["decoder", "encoder", "head"]);
    const encoderTrainable = 232 + 896 + 3520;
    const encoderBnStats = 2 * 2 * (4 + 8 + 16);
    assert.equal(parts.get("encoder"), encoderTrainable + encoderBnStats);
    assert.equal(unetPart("input"), "other");
    model.dispose();
  });

  test("a gradient reaches every trainable weight", () => {
    for (const upsampling of ["transpose", "resize"] as const) {
      const model = buildUNet2D({ ...TINY, upsampling, height: 8, width: 8 });
      const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 3);
      const { grads } = tf.variableGrads(() => (model.apply(x, { training: true }) as tf.Tensor).square().mean() as tf.Scalar);
      for (const w of model.trainableWeights) {
        const g = grads[w.name];
        assert.ok(g, `no gradient for ${w.name}`);
        assert.ok(g.abs().max().dataSync()[0] > 0, `zero gradient for ${w.name} (${upsampling})`);
      }
      tf.dispose([x, ...Object.values(grads)]);
      model.dispose();
    }
  });

  test("the same seed gives the same weights, another seed other weights", () => {
    const sums = (seed: number) => {
      const model = buildUNet2D({ ...TINY, seed });
      const s = model.getWeights().map((w) => w.sum().dataSync()[0]);
      model.dispose();
      return s;
    };
    const a = sums(0);
    assert.deepEqual(sums(0), a);
    assert.notDeepEqual(sums(1), a);
  });

  test("bad configs are rejected with the field named", () => {
    assert.throws(() => resolveUNet2DConfig({ height: 20, depth: 4 }), /divisible by 2\^\(depth-1\) = 8/);
    assert.throws(() => resolveUNet2DConfig({ baseFilters: 0 }), /baseFilters/);
    assert.throws(() => resolveUNet2DConfig({ upsampling: "bilinear" as never }), /upsampling/);
  });
});

describe("wasm threads", () => {
  test("ANATOMY_SSL_WASM_THREADS parsing", () => {
    assert.equal(requestedWasmThreads("1"), 1);
    assert.equal(requestedWasmThreads("2"), 2);
    assert.ok(requestedWasmThreads(undefined) >= 1);
    assert.throws(() => requestedWasmThreads("two"), /ANATOMY_SSL_WASM_THREADS=two/);
    assert.throws(() => requestedWasmThreads("0"), /positive integer/);
  });

  // Each thread count needs its own process (the backend is chosen once per process). The child
  // computes a conv and the gradients of a tiny U-Net, and must then exit on its own: a ref'd
  // pthread worker would keep it alive until the timeout.
  const child = `
    const { initBackend, tf } = require(${JSON.stringify(path.join(__dirname, "..", "src", "backend", "index.js"))});
    const { buildUNet2D } = require(${JSON.stringify(path.join(__dirname, "..", "src", "models", "unet2d.js"))});
    initBackend({ quiet: true }).then((info) => {
      const x = tf.randomNormal([2, 32, 32, 8], 0, 1, "float32", 1);
      const w = tf.randomNormal([3, 3, 8, 16], 0, 1, "float32", 2);
      const conv = Array.from(tf.conv2d(x, w, 1, "same").dataSync());
      const model = buildUNet2D({ height: 16, width: 16, inChannels: 1, nClasses: 3, depth: 3, baseFilters: 8 });
      const xi = tf.randomNormal([2, 16, 16, 1], 0, 1, "float32", 3);
      const { grads } = tf.variableGrads(() => model.apply(xi, { training: true }).square().mean());
      const grad = Object.keys(grads).sort().flatMap((k) => Array.from(grads[k].dataSync()));
      process.stdout.write(JSON.stringify({ threads: info.threads, conv, grad }));
    });`;
  const run = (threads: number) => {
    const r = spawnSync(process.execPath, ["-e", child], {
      env: { ...process.env, ANATOMY_SSL_BACKEND: "wasm", ANATOMY_SSL_WASM_THREADS: String(threads) },
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 1 << 26,
    });
    assert.equal(r.signal, null, `child with ${threads} threads did not exit by itself (killed by ${r.signal}): stray workers?`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { threads: number; conv: number[]; grad: number[] };
  };

  test("2 threads compute what 1 thread computes, and the process exits by itself", () => {
    const one = run(1);
    const two = run(2);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    for (const key of ["conv", "grad"] as const) {
      assert.equal(two[key].length, one[key].length);
      const scale = Math.max(1e-6, ...one[key].map(Math.abs));
      const worst = Math.max(...one[key].map((v, i) => Math.abs(v - two[key][i])));
      assert.ok(worst / scale < 1e-5, `${key}: max |2 threads - 1 thread| / max|1 thread| = ${worst / scale}`);
    }
  });
});
