/**
 * The abdominal phantom beside the real samples: organ HU from TotalSegmentator's test CT and
 * its label table, kidney volumes and the left/right craniocaudal offset from the KiTS19 label
 * maps (read by the KiTS19 loader, with its geometry), and the phantom's mean over seeds. The
 * rows feed the kidney paper's notebook and results README, and bench/abdomen-phantom.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Kits19Dataset } from "../datasets/kits19.js";
import { measureKits19Labels, measureLabelledCt, measurePhantom, realismRows, type Kits19Measures, type RealismRow } from "../phantoms/abdomen/index.js";
import type { AbdomenCtOptions } from "../phantoms/abdomen/index.js";

/** Where the real samples are expected under a shared data folder. */
export const REALISM_SAMPLES = { ct: "totalsegmentator/example_ct_sm.nii.gz", seg: "totalsegmentator/example_seg.nii.gz", kits19: "kits19-labels" };

export interface RealismComparison {
  rows: RealismRow[];
  kits: Kits19Measures[];
  /** What was read, for the README. */
  sources: string[];
}

/** Measure the real samples under `dataDir` and `seeds` phantoms; a missing sample is an error naming it. */
export async function compareAbdomenWithRealSamples(dataDir: string, seeds: readonly number[], options: AbdomenCtOptions = {}): Promise<RealismComparison> {
  const ct = path.join(dataDir, REALISM_SAMPLES.ct);
  const seg = path.join(dataDir, REALISM_SAMPLES.seg);
  const kitsDir = path.join(dataDir, REALISM_SAMPLES.kits19);
  for (const f of [ct, seg, kitsDir]) if (!fs.existsSync(f)) throw new Error(`${f}: real sample missing (the realism table needs ../shared/data or ANATOMY_SSL_SHARED_DATA)`);
  const dataset = new Kits19Dataset(kitsDir);
  const kits: Kits19Measures[] = [];
  for (const id of await dataset.listCases()) {
    const c = await dataset.loadCase(id, { image: false, labels: true });
    kits.push(measureKits19Labels(c.labels!, `${REALISM_SAMPLES.kits19}/${id}`));
  }
  const rows = realismRows(measurePhantom(seeds, options), await measureLabelledCt(ct, seg), kits);
  return { rows, kits, sources: [REALISM_SAMPLES.ct, REALISM_SAMPLES.seg, ...kits.map((k) => k.source)] };
}
