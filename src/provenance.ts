/**
 * How a result was made: package versions, backend, CPU, git commit. Every results file and the
 * `info` command record these so two runs can be told apart.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
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

/**
 * The code version: the commit, or "<commit>+dirty.<hash>" when tracked files differ from it.
 * The hash is of those differences (`git diff HEAD`), so two processes report the same version
 * only if they ran the same code: `anatomy-ssl merge` relies on it to refuse shards computed by
 * other code, including a checkout edited while an array job ran. (Versions recorded before the
 * hash was added end in a bare "+dirty", which says nothing about which changes.)
 */
export function gitCommit(): string {
  try {
    const cwd = projectRoot();
    const git = (args: string[]) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 30 });
    const sha = git(["rev-parse", "HEAD"]).toString().trim();
    // "+dirty" means the code differs from the commit; results/ is what a run writes (a rerun
    // of committed results modifies tracked files there), so it does not count.
    const scope = ["--", ".", ":(exclude)results"];
    const dirty = git(["status", "--porcelain", "--untracked-files=no", ...scope]).toString().trim();
    if (!dirty) return sha;
    const changes = createHash("sha256").update(git(["diff", "HEAD", "--binary", ...scope])).digest("hex").slice(0, 12);
    return `${sha}+dirty.${changes}`;
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
