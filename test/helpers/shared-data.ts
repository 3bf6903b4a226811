/**
 * Where tests find things outside the project: the real sample files in ../shared/data (never
 * copied into the repository) and Debian's python3 with nibabel (the NIfTI reference reader).
 * Both are optional: tests ask for a skip reason and pass it to node:test's `skip` option, so a
 * machine without them runs everything else and says clearly what it skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { projectRoot as findProjectRoot } from "../../src/provenance.js";

/** The project root (src/provenance.ts finds it from the code's location, not the cwd). */
export const projectRoot: string = findProjectRoot();

/** ../shared/data next to the project, or $ANATOMY_SSL_SHARED_DATA when set. */
export const sharedDataDir: string = process.env.ANATOMY_SSL_SHARED_DATA
  ? path.resolve(process.env.ANATOMY_SSL_SHARED_DATA)
  : path.resolve(projectRoot, "..", "shared", "data");

/** Absolute path of a file under the shared data folder, e.g. sharedDataPath("mnms2-001", "001_SA_ED.nii.gz"). */
export function sharedDataPath(...parts: string[]): string {
  return path.join(sharedDataDir, ...parts);
}

/**
 * A skip reason (for node:test's `skip` option) when any of the named shared files or folders
 * is missing, else false.
 */
export function sharedDataSkip(...parts: string[][]): string | false {
  const missing = parts.map((p) => sharedDataPath(...p)).filter((p) => !existsSync(p));
  if (missing.length === 0) return false;
  return `real sample data not found (${missing.join(", ")}); see shared/data/README.md`;
}

/**
 * Debian's interpreter (the python3 on PATH is a different one without nibabel);
 * $ANATOMY_SSL_PYTHON overrides it.
 */
export const PYTHON = process.env.ANATOMY_SSL_PYTHON ?? "/usr/bin/python3";

let nibabelStatus: string | false | undefined;

/** A skip reason when /usr/bin/python3 cannot import nibabel and numpy, else false (cached). */
export function nibabelSkip(): string | false {
  if (nibabelStatus !== undefined) return nibabelStatus;
  if (!existsSync(PYTHON)) return (nibabelStatus = `${PYTHON} not found; install Debian's python3-nibabel to run nibabel cross-checks`);
  const r = spawnSync(PYTHON, ["-c", "import nibabel, numpy; print(nibabel.__version__)"], { encoding: "utf8", timeout: 60_000 });
  nibabelStatus = r.status === 0 ? false : `nibabel is not importable by ${PYTHON} (apt-get install python3-nibabel): ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
  return nibabelStatus;
}

/** Run a Python script with /usr/bin/python3; returns stdout, throws with stderr on failure. */
export function runPython(script: string, args: string[] = [], options: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(PYTHON, ["-c", script, ...args], {
    encoding: "utf8",
    input: options.input,
    timeout: options.timeoutMs ?? 300_000,
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python failed (status ${r.status}${r.error ? `, ${r.error.message}` : ""}):\n${r.stderr}`);
  return r.stdout;
}

/** runPython for a script that prints one JSON document. */
export function runPythonJson<T>(script: string, args: string[] = [], options: { input?: string; timeoutMs?: number } = {}): T {
  return JSON.parse(runPython(script, args, options)) as T;
}
