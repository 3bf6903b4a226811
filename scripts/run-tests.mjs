// Runs every compiled test file (dist/test/**/*.test.js) with node:test.
// Node 20's --test does not expand globs, so we list the files here.
// Usage: node scripts/run-tests.mjs [substring ...]  (only files whose path contains a substring)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith(".test.js") ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = find("dist/test")
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(", ") || "dist/test/**/*.test.js"} (did the build run?)`);
  process.exit(1);
}
const started = Date.now();
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
