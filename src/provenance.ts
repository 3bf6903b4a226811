/**
 * How a result was made: package versions, backend, CPU, git commit. Every results file and the
 * `info` command record these so two runs can be told apart.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The packages whose versions change numbers or speed. */
export const TRACKED_PACKAGES = [
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-node",
  "@tensorflow/tfjs-node-gpu",
  "nifti-reader-js",
  "dicom-parser",
  "danfojs",
  "tslab",
];

/**
 * Find a package's package.json by walking up node_modules folders. require.resolve cannot be
 * used: some packages (nifti-reader-js) do not export their package.json.
 */
function findPackageJson(name: string): string | undefined {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, "node_modules", name, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Installed version of each tracked package, or "absent". */
export function packageVersions(names: string[] = TRACKED_PACKAGES): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const file = findPackageJson(name);
    out[name] = file ? (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version : "absent";
  }
  return out;
}

/** This project's root (the folder holding its package.json). */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export function gitCommit(): string {
  try {
    const cwd = projectRoot();
    const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    // "+dirty" means the code differs from the commit; results/ is what a run writes (a rerun
    // of committed results modifies tracked files there), so it does not count.
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return "unknown (not a git checkout)";
  }
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

/** "CPU model (N cores)": how results name the machine they were computed on. */
export function machineLabel(): string {
  const m = machineInfo();
  return `${m.cpu} (${m.cores} cores)`;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
}
