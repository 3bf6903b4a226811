/**
 * Why the kidney pretext runs on 2D sections: one contrastive training step of the siamese
 * encoder on 2D sections against the same encoder in 3D on patches of the same width, on this
 * machine's backend. The 2D branch is src/models/siamese.ts (the U-Net encoder + pooled
 * embedding); the 3D branch is the encoder of src/models/unet3d.ts with the same pooling and
 * embedding. Depth of the 3D patch: `--depth3d` slices (the kidney paper's crops are 3D boxes).
 *
 *   node dist/bench/kidney-siamese-step.js [--pairs 16] [--crop 32] [--depth3d 16] [--steps 10]
 *
 * Measure on a quiet machine (see bench/README.md).
 */
import * as os from "node:os";
import { describeBackend, initBackend, tf } from "../src/backend/index.js";
import { buildSiameseEncoder2D, contrastiveLoss } from "../src/models/siamese.js";
import { buildUNet3D } from "../src/models/unet3d.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

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

function timeSteps(model: tf.LayersModel, shape: number[], pairs: number, steps: number): number[] {
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
  for (let s = 0; s < steps + 2; s++) {
    const t = performance.now();
    const loss = optimizer.minimize(() => contrastiveLoss(distances(true), same), true);
    loss?.dataSync();
    loss?.dispose();
    if (s >= 2) times.push(performance.now() - t);
  }
  tf.dispose([x1, x2, same]);
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const pairs = arg("pairs", 16);
  const crop = arg("crop", 32);
  const depth3d = arg("depth3d", 16);
  const steps = arg("steps", 10);
  console.log(`backend: ${describeBackend(backend)}; cpu: ${os.cpus()[0]?.model} (${os.cpus().length} logical); load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const two = timeSteps(buildSiameseEncoder2D({ height: crop, width: crop, inChannels: 1, depth: 4, baseFilters: 8, embedding: 32, seed: 1 }), [crop, crop, 1], pairs, steps);
  const three = timeSteps(encoder3d(crop, depth3d), [depth3d, crop, crop, 1], pairs, steps);
  const med = (t: number[]) => t[Math.floor(t.length / 2)];
  console.log(`2D: ${pairs} pairs of ${crop}x${crop}: median ${med(two).toFixed(0)} ms/step (min ${two[0].toFixed(0)}, max ${two[two.length - 1].toFixed(0)})`);
  console.log(`3D: ${pairs} pairs of ${depth3d}x${crop}x${crop}: median ${med(three).toFixed(0)} ms/step (min ${three[0].toFixed(0)}, max ${three[three.length - 1].toFixed(0)})`);
  console.log(`3D / 2D: ${(med(three) / med(two)).toFixed(1)}x per step, for ${depth3d}x the voxels per section`);
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
