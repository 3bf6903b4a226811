/**
 * Where the time of one U-Net training step goes, kernel by kernel, on the project's backend
 * (issue 5: choose speed levers from measurements). Uses tf.profile's per-kernel wall times.
 * Usage: node dist/bench/profile-step.js [--size 128] [--batch 8] [--base 16] [--top 20]
 */
import { initBackend, tf } from "../src/backend/index.js";
import { buildUNet2D } from "../src/models/unet2d.js";
import { crossEntropy } from "../src/train/losses.js";
import { numberArg as arg } from "./args.js";

async function main(): Promise<void> {
  const size = arg("size", 128);
  const batch = arg("batch", 8);
  const base = arg("base", 16);
  const top = arg("top", 20);
  const backend = await initBackend();
  const model = buildUNet2D({ height: size, width: size, baseFilters: base, depth: 4, nClasses: 4, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, size, size, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([batch, size, size], 0, 4, "int32", 2) as tf.Tensor3D;
  const step = () => optimizer.minimize(() => crossEntropy(model.apply(x, { training: true }) as tf.Tensor4D, y), false);
  for (let i = 0; i < 2; i++) step(); // warm-up: kernel setup, XNNPACK operator caches
  const started = performance.now();
  const info = await tf.profile(() => {
    step();
  });
  const wall = performance.now() - started;
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    byKernel.set(k.name, { ms: e.ms + ms, calls: e.calls + 1 });
  }
  const total = [...byKernel.values()].reduce((t, e) => t + e.ms, 0);
  console.log(`U-Net step ${size}x${size}, batch ${batch}, base ${base}: backend ${backend.choice}${backend.threads ? ` (${backend.threads} threads)` : ""}`);
  console.log(`wall ${wall.toFixed(0)} ms (profiled, includes profiling overhead); sum of kernel times ${total.toFixed(0)} ms over ${info.kernels.length} kernel calls`);
  console.log("kernel                          ms   share  calls");
  for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    console.log(`${name.padEnd(28)} ${e.ms.toFixed(0).padStart(6)}  ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(5)}`);
  }
}

main().catch((e: Error) => {
  console.error(e.stack);
  process.exit(1);
});
