/**
 * The built-in abdominal CT dataset: synthetic subjects (phantoms/abdomen) written once to a
 * cache folder in the KiTS19 layout (case_NNNNN/imaging.nii.gz + segmentation.nii.gz, KiTS19's
 * own on-disk convention) and read back through the KiTS19 loader real data uses. Case
 * case_NNNNN is phantom seed NNNNN. The segmentation keeps KiTS19's labels (1 kidney, either
 * side; 2 tumour); the phantom's other organs are not written here.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { kits19File, writeKits19Case } from "../datasets/kits19.js";
import type { Volume } from "../io/volume.js";
import { ABDOMEN_CT_GENERATOR, ABDOMEN_LABELS, generateAbdomenCt, type AbdomenCtOptions } from "../phantoms/abdomen/index.js";
import { ensureGeneratedFolder } from "./generated-data.js";
import { cacheRoot } from "./synthetic-cardiac.js";

export const caseId = (seed: number) => `case_${String(seed).padStart(5, "0")}`;

export function syntheticAbdomenDir(o: AbdomenCtOptions): string {
  return path.join(cacheRoot(), `synthetic-abdomen-kits19-v${ABDOMEN_CT_GENERATOR.version}-m${o.matrix}-p${o.pixelMm}-s${o.sliceMm}x${o.slices}-t${o.tumorProbability}`);
}

/** The phantom's label map in KiTS19's labels: both kidneys 1, tumour 2, everything else 0. */
export function toKits19Labels(labels: Volume<Uint8Array>): Volume<Uint8Array> {
  const data = labels.data.map((v) => (v === ABDOMEN_LABELS.tumor ? 2 : v === ABDOMEN_LABELS.kidney_left || v === ABDOMEN_LABELS.kidney_right ? 1 : 0));
  return { ...labels, data };
}

/** A hash of one small subject as written: catches a generator change made without a bump. */
export function abdomenFingerprint(): string {
  const ct = generateAbdomenCt(1, { matrix: 24, pixelMm: 16, sliceMm: 16, slices: 12, throughSamples: 1 });
  const h = createHash("sha256").update(JSON.stringify(ct.subject)).update(JSON.stringify(ct.image.affine));
  for (const v of [ct.image.data, ct.labels.data]) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return h.digest("hex").slice(0, 16);
}

/** Make sure cases 1..count exist; returns the folder. */
export async function ensureSyntheticKits19(count: number, options: Required<Pick<AbdomenCtOptions, "matrix" | "pixelMm" | "sliceMm" | "slices" | "tumorProbability">>): Promise<string> {
  const dir = syntheticAbdomenDir(options);
  return ensureGeneratedFolder({
    dir,
    generator: ABDOMEN_CT_GENERATOR,
    fingerprint: abdomenFingerprint(),
    options,
    count,
    // The segmentation is written last: its presence means the case is complete.
    complete: (seed) => fs.existsSync(kits19File(dir, caseId(seed), "segmentation")),
    write: async (seed) => {
      const ct = generateAbdomenCt(seed, options);
      await writeKits19Case(dir, caseId(seed), { image: ct.image });
      await writeKits19Case(dir, caseId(seed), { labels: toKits19Labels(ct.labels) });
    },
  });
}
