// The reproduce command end to end at a tiny scale: a run killed after its first finished cell
// and restarted ends with the same table as an uninterrupted run; a changed config is refused.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { TINY } from "./helpers/tiny-bai2019.js";

const cli = path.resolve(__dirname, "../src/cli.js");

function env(cache: string): NodeJS.ProcessEnv {
  return { ...process.env, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1", ANATOMY_SSL_BACKEND: process.env.ANATOMY_SSL_BACKEND ?? "" };
}

function runToEnd(out: string, cache: string, extra: string[] = []) {
  return spawnSync(process.execPath, [cli, "reproduce", "bai2019", "--quick", "--out", out, ...TINY, ...extra], { env: env(cache), encoding: "utf8", timeout: 300_000 });
}

/** Start a run and SIGKILL it as soon as the store holds one complete cell and run.json records it. */
async function runAndKillAfterFirstCell(out: string, cache: string): Promise<void> {
  const child = spawn(process.execPath, [cli, "reproduce", "bai2019", "--quick", "--out", out, ...TINY], { env: env(cache), stdio: "ignore" });
  const store = path.join(out, "rows.jsonl");
  const runFile = path.join(out, "run.json");
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const cells = fs.existsSync(store) ? (fs.readFileSync(store, "utf8").match(/"type":"cell"/g) ?? []).length : 0;
      if (cells >= 1 && fs.existsSync(runFile)) {
        clearInterval(timer);
        child.kill("SIGKILL");
      }
    }, 20);
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      if (signal === "SIGKILL") resolve();
      else reject(new Error(`the run finished (code ${code}) before it could be interrupted`));
    });
  });
}

test("reproduce: an interrupted run resumes to the same table as an uninterrupted one", { timeout: 600_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-reproduce-"));
  const whole = runToEnd(path.join(root, "whole"), path.join(root, "cache-a"));
  assert.equal(whole.status, 0, whole.stderr);

  const out = path.join(root, "interrupted");
  await runAndKillAfterFirstCell(out, path.join(root, "cache-b"));
  const cellsBefore = (fs.readFileSync(path.join(out, "rows.jsonl"), "utf8").match(/"type":"cell"/g) ?? []).length;
  assert.ok(cellsBefore >= 1 && cellsBefore < 8, `${cellsBefore} cells before the kill`);
  assert.ok(!fs.existsSync(path.join(out, "table.md")), "no table written by the killed run");
  const resumed = runToEnd(out, path.join(root, "cache-b"));
  assert.equal(resumed.status, 0, resumed.stderr);
  const run = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  // The killed invocation stays recorded (to its last cell that run.json saw) and is marked.
  assert.equal(run.invocations.length, 2);
  const [killed, last] = run.invocations;
  assert.equal(killed.interrupted, true);
  assert.ok(killed.cellsRun >= 1 && killed.cellsRun <= cellsBefore, `${killed.cellsRun} cells recorded of ${cellsBefore} stored`);
  assert.ok(killed.wallSeconds > 0 && killed.finished <= last.started);
  assert.equal(last.interrupted, undefined);
  assert.equal(last.cellsSkipped, cellsBefore);
  assert.equal(last.cellsRun, 8 - cellsBefore);
  assert.equal(run.wallSeconds, killed.wallSeconds + last.wallSeconds);
  assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /over 2 invocations \(resumed\) \(1 of them interrupted; each counts to its last stored cell\)/);
  for (const file of ["table.md", "summary.csv", "comparisons.csv"]) {
    assert.equal(fs.readFileSync(path.join(out, file), "utf8"), fs.readFileSync(path.join(root, "whole", file), "utf8"), file);
  }
  const table = fs.readFileSync(path.join(out, "table.md"), "utf8");
  for (const m of ["scratch", "ssl-decoder", "ssl-all", "ssl-multitask"]) assert.match(table, new RegExp(`\\| 2 \\| ${m} \\|`));

  // Every cell records its stopping rule's curve and where it was computed.
  const cellLines = fs.readFileSync(path.join(out, "rows.jsonl"), "utf8").split("\n").filter((l) => l.includes('"type":"cell"')).map((l) => JSON.parse(l));
  for (const c of cellLines) {
    assert.equal(c.curve.validation.length, c.steps, "validated every step");
    assert.ok(c.bestStep >= 1 && c.bestStep <= c.steps);
    assert.match(c.computedOn.backend, /\w/);
    assert.equal(c.pretrainSeed, c.method === "scratch" ? undefined : c.seed);
  }

  // Rerunning a finished store only rewrites the report: no cell, no pretraining, and the
  // provenance of the run that computed the cells is kept; the re-render is recorded apart.
  const before = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  const again = runToEnd(out, path.join(root, "cache-c"));
  assert.equal(again.status, 0, again.stderr);
  const after = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  assert.deepEqual(after.invocations, before.invocations, "a re-render adds no computing invocation");
  assert.equal(after.wallSeconds, before.wallSeconds);
  assert.equal(after.regenerated.length, 1);
  assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /Report regenerated from the stored cells \(nothing recomputed\)/);
  assert.equal(fs.readFileSync(path.join(out, "table.md"), "utf8"), table);

  // Another configuration in the same folder is refused rather than mixed in.
  const changed = runToEnd(out, path.join(root, "cache-b"), ["--set", "finetune.maxSteps=4"]);
  assert.notEqual(changed.status, 0);
  assert.match(changed.stderr, /made with another configuration; use --out DIR for this one, or --fresh/);

  // --fresh recomputes everything, pretraining included (cache-b holds pretrained weights), and
  // starts a new history: one invocation, not the sum of the earlier ones.
  const fresh = runToEnd(out, path.join(root, "cache-b"), ["--fresh"]);
  assert.equal(fresh.status, 0, fresh.stderr);
  const freshRun = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  assert.equal(freshRun.invocations.length, 1);
  assert.deepEqual([freshRun.invocations[0].cellsRun, freshRun.invocations[0].pretrainRuns, freshRun.invocations[0].pretrainCached], [8, 1, 0]);
  assert.equal(fs.readFileSync(path.join(out, "table.md"), "utf8"), table, "same seed, same numbers");
});
