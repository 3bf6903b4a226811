/**
 * The built-in dataset: synthetic cardiac exams written once to a cache folder in the M&Ms-2
 * layout, then read back through the same loader real data uses. Subject "NNN" is phantom seed
 * NNN; a folder is reused only if it was made with the same exam options.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generateCardiacExam, subjectId, writeCardiacExam, type ExamOptions } from "../phantoms/cardiac/index.js";
import { projectRoot } from "../provenance.js";
import { Progress } from "../train/progress.js";

/** Where generated data and pretrained weights are cached: ANATOMY_SSL_CACHE, else .cache/ in the project. */
export function cacheRoot(): string {
  return process.env.ANATOMY_SSL_CACHE ?? path.join(projectRoot(), ".cache");
}

export function syntheticCacheDir(options: ExamOptions): string {
  return path.join(cacheRoot(), `synthetic-cardiac-m${options.matrix}-p${options.pixel}`);
}

/** Make sure subjects 1..count exist in the cache; returns the folder. */
export async function ensureSyntheticCardiac(count: number, options: ExamOptions): Promise<string> {
  const dir = syntheticCacheDir(options);
  fs.mkdirSync(dir, { recursive: true });
  const stamp = path.join(dir, "options.json");
  const want = JSON.stringify({ generator: "phantoms/cardiac v1", ...options });
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") !== want) {
    throw new Error(`${dir} was made with other options (${fs.readFileSync(stamp, "utf8")}); delete it or set ANATOMY_SSL_CACHE`);
  }
  fs.writeFileSync(stamp, want);
  const progress = new Progress("synthetic subjects", count);
  for (let seed = 1; seed <= count; seed++) {
    const id = subjectId(seed);
    // The ES label file is written last: its presence means the subject is complete.
    if (!fs.existsSync(path.join(dir, id, `${id}_LA_ES_gt.nii.gz`))) {
      await writeCardiacExam(path.join(dir, id), id, generateCardiacExam(seed, options));
    }
    progress.update(seed);
  }
  return dir;
}
