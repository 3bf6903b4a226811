/**
 * SciPy cross-checks: Debian's python (the one on PATH may lack SciPy); METRICS_PYTHON overrides
 * it, e.g. to test the skip. `scipySkip` gives a skip reason when the module cannot be imported.
 */
import { spawnSync } from "node:child_process";

export const PYTHON = process.env.METRICS_PYTHON ?? "/usr/bin/python3";

export function scipySkip(module = "scipy.stats"): string | undefined {
  const r = spawnSync(PYTHON, ["-c", `import ${module}`], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `SciPy not available via ${PYTHON} (${r.error?.message ?? r.stderr.trim().split("\n").pop()}); skipping the SciPy cross-check`;
  return undefined;
}
