/**
 * The built-in dataset: synthetic cardiac exams written once to a cache folder in the M&Ms-2
 * layout, then read back through the same loader real data uses. Subject "NNN" is phantom seed
 * NNN; a folder is reused only if it was made by the same generator (version and output
 * fingerprint) with the same exam options. The version is part of the folder name, so a new
 * generator writes a new folder, and the data description that keys cached pretrained weights
 * changes with it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateCardiacExam, subjectId, writeCardiacExam, type ExamOptions } from "../phantoms/cardiac/index.js";
import { projectRoot } from "../provenance.js";
import { ensureGeneratedFolder } from "./generated-data.js";

/** Where generated data and pretrained weights are cached: ANATOMY_SSL_CACHE, else .cache/ in the project. */
export function cacheRoot(): string {
  return process.env.ANATOMY_SSL_CACHE ?? path.join(projectRoot(), ".cache");
}

/**
 * Bump on every change to src/phantoms/cardiac that changes what it writes.
 * v2 (issue 9): SA and LA in-plane orientation planned from patient directions (+-20 degrees)
 * instead of a uniform +-180 degree SA rotation; LA images with the apex towards +i.
 */
export const SYNTHETIC_CARDIAC_GENERATOR = { name: "phantoms/cardiac", version: 2 } as const;

export function syntheticCacheDir(options: ExamOptions): string {
  return path.join(cacheRoot(), `synthetic-cardiac-v${SYNTHETIC_CARDIAC_GENERATOR.version}-m${options.matrix}-p${options.pixel}`);
}

/**
 * A hash of what the generator makes for one small exam (subject parameters, affines, voxels):
 * stored with the folder, it catches a change of the generator made without a version bump.
 */
export function syntheticGeneratorFingerprint(): string {
  const exam = generateCardiacExam(1, { matrix: 16, pixel: 8 });
  const h = createHash("sha256").update(JSON.stringify(exam.subject));
  for (const phases of Object.values(exam.views))
    for (const view of [phases.ED, phases.ES])
      for (const v of [view.image, view.labels]) h.update(JSON.stringify(v.affine)).update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  return h.digest("hex").slice(0, 16);
}

/** Make sure subjects 1..count exist in the cache; returns the folder. */
export async function ensureSyntheticCardiac(count: number, options: ExamOptions): Promise<string> {
  const dir = syntheticCacheDir(options);
  return ensureGeneratedFolder({
    dir,
    generator: SYNTHETIC_CARDIAC_GENERATOR,
    fingerprint: syntheticGeneratorFingerprint(),
    options,
    count,
    // The ES label file is written last: its presence means the subject is complete.
    complete: (seed) => fs.existsSync(path.join(dir, subjectId(seed), `${subjectId(seed)}_LA_ES_gt.nii.gz`)),
    write: async (seed) => {
      await writeCardiacExam(path.join(dir, subjectId(seed)), subjectId(seed), generateCardiacExam(seed, options));
    },
  });
}
