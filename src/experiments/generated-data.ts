/**
 * Synthetic datasets are written once to a cache folder and read back through the loader real
 * data uses. A folder is reused only if the same generator (name, version and a fingerprint of
 * its output) made it with the same options; anything else is an error that says what differs,
 * never a silent mix of old and new subjects.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../train/checkpoint.js";
import { Progress } from "../train/progress.js";

export interface GeneratedFolder {
  dir: string;
  /** e.g. { name: "phantoms/cardiac", version: 2 }: bumped on every change of what it writes. */
  generator: { name: string; version: number };
  /** A hash of what the generator makes for one small subject: catches a change without a bump. */
  fingerprint: string;
  options: object;
  /** Subjects 1..count. */
  count: number;
  /** The subject of this seed is completely written (its last file exists). */
  complete(seed: number): boolean;
  write(seed: number): Promise<void>;
}

/** Make sure subjects 1..count exist in `dir`; returns the folder. */
export async function ensureGeneratedFolder(f: GeneratedFolder): Promise<string> {
  fs.mkdirSync(f.dir, { recursive: true });
  const stamp = path.join(f.dir, "options.json");
  const generator = `${f.generator.name} v${f.generator.version}`;
  const want = JSON.stringify({ generator, fingerprint: f.fingerprint, ...f.options });
  const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8") : want;
  if (have !== want) {
    if (sameButFingerprint(have, want, f.fingerprint)) {
      throw new Error(`${f.dir} was made by another ${generator} (output fingerprint ${JSON.parse(have).fingerprint}, now ${f.fingerprint}): ` +
        `if src/${f.generator.name} changed, bump its generator version; delete the folder or set ANATOMY_SSL_CACHE`);
    }
    throw new Error(`${f.dir} was made with other options (${have}); delete it or set ANATOMY_SSL_CACHE`);
  }
  // Written once, atomically: shards of one run read the same folder at the same time, and a
  // rewrite (truncate, then write) could show another process an empty stamp.
  if (!fs.existsSync(stamp)) writeFileAtomic(stamp, want);
  const progress = new Progress("synthetic subjects", f.count);
  for (let seed = 1; seed <= f.count; seed++) {
    if (!f.complete(seed)) await f.write(seed);
    progress.update(seed);
  }
  return f.dir;
}

function sameButFingerprint(have: string, want: string, fingerprint: string): boolean {
  try {
    return JSON.stringify({ ...JSON.parse(have), fingerprint }) === want;
  } catch {
    return false;
  }
}
