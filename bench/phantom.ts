/**
 * Benchmark: generating synthetic cardiac exams (all views, ED + ES), in subjects per second.
 * Usage: node dist/bench/phantom.js [subjects=100] [matrix=128] [pixel=2]
 * Generation must not dominate a reproduction run; this measures it at the default exam size.
 */
import * as os from "node:os";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";

const [subjects = 100, matrix = 128, pixel = 2] = process.argv.slice(2).map(Number);
const started = performance.now();
let pixels = 0;
for (let seed = 1; seed <= subjects; seed++) {
  const exam = generateCardiacExam(seed, { matrix, pixel });
  for (const view of Object.values(exam.views)) pixels += view.ED.image.data.length + view.ES.image.data.length;
}
const seconds = (performance.now() - started) / 1000;
console.log(`cpu: ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`${subjects} subjects (SA + 2CH + 3CH + 4CH, ED + ES, ${matrix}x${matrix} at ${pixel} mm): ${seconds.toFixed(1)} s`);
console.log(`${(subjects / seconds).toFixed(2)} subjects/s, ${((pixels / seconds) / 1e6).toFixed(2)} Mpixel/s (12 anatomy samples per pixel), single thread`);
