/**
 * The abdominal CT phantom: generation time and the realism table (phantom mean over seeds vs
 * the real samples in ../shared/data, see src/phantoms/abdomen/real-samples.ts).
 * Usage: node dist/bench/abdomen-phantom.js [seeds=8] [--json]
 * ANATOMY_SSL_SHARED_DATA overrides where the real samples are.
 */
import * as os from "node:os";
import * as path from "node:path";
import { compareAbdomenWithRealSamples } from "../src/experiments/abdomen-realism.js";
import { formatRealismTable, generateAbdomenCt } from "../src/phantoms/abdomen/index.js";
import { projectRoot } from "../src/provenance.js";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(args.find((a) => !a.startsWith("--")) ?? 8);
  const data = process.env.ANATOMY_SSL_SHARED_DATA ?? path.resolve(projectRoot(), "..", "shared", "data");
  const seeds = Array.from({ length: count }, (_, i) => i + 1);

  const times = seeds.map((seed) => {
    const t = performance.now();
    generateAbdomenCt(seed);
    return performance.now() - t;
  });
  times.sort((a, b) => a - b);
  console.log(`cpu: ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`generation, 128x128x64 at 3 mm (default): median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)} (${count} seeds, one thread)\n`);

  const { rows, kits } = await compareAbdomenWithRealSamples(data, seeds);
  console.log(formatRealismTable(rows));
  console.log(`\nKiTS19 craniocaudal check (upper third nearer the midline than the lower third, mm; > 0 agrees with the affine's superior):`);
  for (const k of kits) console.log(`  ${path.basename(k.source)}: left ${k.upperPoleMedialMm.left.toFixed(1)}, right ${k.upperPoleMedialMm.right.toFixed(1)}`);
  if (args.includes("--json")) console.log(JSON.stringify({ rows, kits: kits.map((k) => ({ source: k.source, ...k.upperPoleMedialMm })) }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
