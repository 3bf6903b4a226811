/**
 * Benchmark: evaluation metrics on a short-axis-sized label volume (256 x 256 x 12 at
 * 1.5 x 1.5 x 10 mm, 3 classes), the per-subject cost of an evaluation run.
 * Usage: node dist/bench/metrics.js [repeats=10]
 * Target: HD95 + ASSD well under a second per class. Also times a worst case, a class filling most
 * of the image, since the surface metrics work in the class's bounding box.
 */
import * as os from "node:os";
import { identityAffine, type Volume } from "../src/io/volume.js";
import { dicePerClass, surfaceMetrics, surfaceMetricsPerSlice } from "../src/metrics/index.js";
import { Random } from "../src/random.js";

const [repeats = 10] = process.argv.slice(2).map(Number);
const shape = [256, 256, 12];
const spacing = [1.5, 1.5, 10];

/** Cardiac-like labels: 1 LV blood pool, 2 myocardium ring, 3 RV crescent; tapering towards the apex. */
function heart(dx: number, dy: number, wobble: Random | undefined): Volume<Uint8Array> {
  const [nx, ny, nz] = shape;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 1; k < nz - 1; k++) {
    const taper = 1 - (0.5 * k) / nz;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        // A little boundary noise so the prediction's surface is not a clean copy.
        const e = wobble ? wobble.uniform(-0.6, 0.6) : 0;
        const r = Math.hypot(i - 128 - dx, j - 120 - dy) + e;
        const rv = Math.hypot((i - 88 - dx) / 1.4, j - 120 - dy) + e;
        let label = 0;
        if (r < 24 * taper) label = 1;
        else if (r < 32 * taper) label = 2;
        else if (rv < 30 * taper && i < 128 + dx - 20) label = 3;
        data[i + nx * (j + ny * k)] = label;
      }
    }
  }
  const affine = identityAffine();
  for (let a = 0; a < 3; a++) affine[a][a] = spacing[a];
  return { data, shape, spacing, affine };
}

function time(f: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]; // median, ms
}

const ref = heart(0, 0, undefined);
const pred = heart(2, -1, new Random(1));
console.log(`cpu: ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`volume ${shape.join("x")} at ${spacing.join(" x ")} mm, median of ${repeats} runs, single thread`);
console.log(`Dice, 3 classes in one pass: ${time(() => dicePerClass(pred.data, ref.data, [1, 2, 3])).toFixed(1)} ms`);
for (const c of [1, 2, 3]) {
  const m = surfaceMetrics(pred, ref, c);
  const ms = time(() => surfaceMetrics(pred, ref, c));
  console.log(`class ${c}: HD95 + ASSD ${ms.toFixed(1)} ms (HD95 ${m.hd95.toFixed(2)} mm, ASSD ${m.assd.toFixed(2)} mm, ${m.surfacePred + m.surfaceRef} surface voxels)`);
}
console.log(`class 2 per slice (2D): ${time(() => surfaceMetricsPerSlice(pred, ref, 2)).toFixed(1)} ms for ${shape[2]} slices`);

// Worst case: a class whose bounding box is nearly the whole volume (e.g. scoring the background).
const big = (shift: number): Volume<Uint8Array> => {
  const v = heart(0, 0, undefined);
  v.data = v.data.map((x, n) => (x === 0 && n % 256 >= 2 + shift && n % 256 < 254 ? 1 : 0));
  return v;
};
const bigRef = big(0);
const bigPred = big(1);
const mBig = surfaceMetrics(bigPred, bigRef, 1);
console.log(`worst case (class filling the image): HD95 + ASSD ${time(() => surfaceMetrics(bigPred, bigRef, 1)).toFixed(1)} ms (${mBig.surfacePred + mBig.surfaceRef} surface voxels)`);
