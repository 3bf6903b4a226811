// Every bad setting is refused before anything runs, with a message naming the setting, its
// value and what is allowed; --data problems name the folder and the layout; a failed run
// leaves nothing behind that blocks the corrected rerun; committed results are not deleted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { findPaper } from "../src/experiments/registry.js";
import { defaultOutDir, resolveConfig } from "../src/experiments/reproduce.js";
import { validateSettings, rule } from "../src/experiments/settings.js";
import { projectRoot } from "./helpers/shared-data.js";

const cli = path.resolve(__dirname, "../src/cli.js");

function run(args: string[], cache = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-cache-"))) {
  return spawnSync(process.execPath, [cli, "reproduce", "bai2019", ...args], { env: { ...process.env, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 120_000 });
}

const bad: [string[], RegExp][] = [
  [["pretrain.steps=-5", "finetune.maxSteps=-5"], /setting pretrain\.steps = -5: must be an integer >= 1[\s\S]*setting finetune\.maxSteps = -5: must be an integer >= 1/],
  [["seeds="], /setting seeds = \(empty\): must be a non-empty comma list of distinct integers >= 0/],
  [["budgets="], /setting budgets = \(empty\)/],
  [["pixel=-1"], /setting pixel = -1: must be a number > 0/],
  [["batch=0"], /setting batch = 0: must be an integer >= 1/],
  [["budgets=1,50"], /setting budgets = 1,50: budget 50 exceeds labelledPool = 20/],
  [["size=60"], /setting size = 60: must be divisible by 2\^\(unet.depth-1\) = 8/],
  [["seeds=1,1"], /setting seeds = 1,1: must be a non-empty comma list of distinct integers/],
  [["methods=scratch,nonsense"], /setting methods = scratch,nonsense: must be a non-empty comma list of distinct values from scratch, ssl-decoder, ssl-all, ssl-multitask/],
  [["finetune.validateEvery=1000"], /setting finetune\.validateEvery = 1000: must be <= finetune\.maxSteps = 500/],
  [["syntheticSubjects=10"], /setting syntheticSubjects = 10: must be >= labelledPool \+ validationSubjects \+ testSubjects = 45/],
];

for (const [sets, message] of bad) {
  test(`reproduce refuses --set ${sets.join(" --set ")}`, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-out-"));
    const r = run(["--out", out, ...sets.flatMap((s) => ["--set", s])]);
    assert.notEqual(r.status, 0, "exits non-zero");
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(out), [], "nothing written");
  });
}

test("settings: every problem is listed at once; cross checks wait for well-formed values", () => {
  const rules = { a: rule.int(1), b: rule.positive() };
  assert.throws(() => validateSettings("here", { a: 0, b: -1 }, rules), /here: invalid settings[\s\S]*setting a = 0: must be an integer >= 1\n {2}setting b = -1: must be a number > 0/);
  let called = false;
  assert.throws(() => validateSettings("here", { a: 0, b: 1 }, rules, [() => ((called = true), [])]));
  assert.equal(called, false);
  assert.doesNotThrow(() => validateSettings("here", { a: 2, b: 0.5 }, rules));
});

test("--data with an empty or wrong folder names the folder, what was found and the layout expected", () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-empty-"));
  fs.writeFileSync(path.join(empty, "notes.txt"), "not a dataset");
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-out-")), "run");
  const r = run(["--data", empty, "--out", out]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: found 0 subjects in the mnms2 layout, but the protocol needs labelledPool \\+ validationSubjects \\+ testSubjects = 20 \\+ 5 \\+ 20 = 45`));
  assert.match(r.stderr, /data-manifests\/mnms2\.json/);
  assert.ok(!fs.existsSync(path.join(out, "config.json")), "a run that failed before its first cell leaves no config.json");
  const missing = run(["--data", path.join(empty, "nope"), "--out", out]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /--data .*nope: no such folder/);
});

test("a --data run defaults to its own folder, not the committed results", () => {
  const paper = findPaper("bai2019");
  const config = resolveConfig(paper, {});
  assert.equal(defaultOutDir(paper, config, {}), path.join(projectRoot, "results", "bai2019"));
  assert.equal(defaultOutDir(paper, config, { dataDir: "/data/mnms2" }), path.join(projectRoot, "results", "bai2019-mnms2"));
  assert.equal(defaultOutDir(paper, resolveConfig(paper, { overrides: ["dataset=acdc"] }), { dataDir: "/data/acdc", quick: true }), path.join(projectRoot, "results", "bai2019-acdc-quick"));
  assert.throws(() => findPaper("nope"), /unknown paper 'nope' \(available: bai2019/);
});

test("--fresh refuses to delete results committed to git unless told explicitly", () => {
  // test/ is tracked by git, as results/bai2019 is: the refusal must come before any deletion.
  const tracked = path.join(projectRoot, "test");
  const r = run(["--out", tracked, "--fresh"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /holds results committed to git; --fresh would delete them\. Use --out DIR for a new folder, or add --replace-committed/);
});
