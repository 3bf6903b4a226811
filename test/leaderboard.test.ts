// The leaderboard reads stores written by different runs and combines them: checked by hand on
// small stores (means, ranks, gains, anatomy-minus-generic differences, pretraining cost), and it
// refuses stores made with another configuration or missing a cell.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { computeLeaderboard, leaderboardMarkdown, loadLeaderboardRows, type LeaderboardSpec } from "../src/experiments/leaderboard.js";
import { ResultsStore, type ResultRow } from "../src/experiments/results.js";

const SPEC: LeaderboardSpec = {
  name: "toy",
  title: "Toy",
  label: "mean",
  sharedKeys: ["splitSeed", "budgets", "seeds"],
  entries: [
    { method: "scratch", from: "host", label: "scratch", kind: "scratch" },
    { method: "anat", from: "host", label: "anatomy", kind: "anatomy", pretext: "anat-pretext" },
    { method: "gen", from: "generic", label: "generic", kind: "generic", pretext: "gen-pretext" },
  ],
};
const CONFIG = { splitSeed: 0, budgets: [1, 2], seeds: [1, 2], finetune: {} };
const SUBJECTS = ["s1", "s2", "s3", "s4"];

/** Dice of method m at budget b, seed s, subject j (phases ED and ES differ by 0.02). */
const dice = (m: string, b: number, s: number, j: number) => ({ scratch: 0.5, anat: 0.7, gen: 0.6 })[m as "scratch"]! + 0.05 * b + 0.01 * s + 0.001 * j;

function writeStore(dir: string, methods: string[], config: object, pretexts: { pretext: string; seed: number; seconds: number; fromCache: boolean }[] = []): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ paper: path.basename(dir), quick: false, dataDir: null, config }));
  const store = new ResultsStore(path.join(dir, "rows.jsonl"));
  for (const p of pretexts) store.appendPretrain({ paper: path.basename(dir), steps: 10, ...p });
  for (const method of methods) {
    for (const budget of CONFIG.budgets) {
      for (const seed of CONFIG.seeds) {
        const rows: ResultRow[] = SUBJECTS.flatMap((subject, j) => [
          { paper: "x", method, budget, seed, subject, phase: "ED", label: "mean", metric: "dice" as const, value: dice(method, budget, seed, j) - 0.01 },
          { paper: "x", method, budget, seed, subject, phase: "ES", label: "mean", metric: "dice" as const, value: dice(method, budget, seed, j) + 0.01 },
          // Another label: not compared, but read for runs that never found a class (gen at 2, seed 1, misses LV).
          { paper: "x", method, budget, seed, subject, phase: "ED", label: "LV", metric: "dice" as const, value: method === "gen" && budget === 2 && seed === 1 ? 0.05 : 0.9 },
          // Ignored: another scoring.
          { paper: "x", method, budget, seed, subject, phase: "ED", label: "mean", metric: "dice" as const, value: 0, postprocess: "largest-component" as const },
        ]);
        store.appendCell({ paper: "x", method, budget, seed, trainSubjects: ["p"], steps: 1, seconds: 1, finishedAt: "" }, rows);
      }
    }
  }
}

test("leaderboard: means, ranks, gains, anatomy-minus-generic and pretraining cost, by hand", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "leaderboard-"));
  writeStore(path.join(root, "host"), ["scratch", "anat"], { ...CONFIG, methods: ["scratch", "anat"] }, [
    { pretext: "anat-pretext", seed: 1, seconds: 10, fromCache: false },
    { pretext: "anat-pretext", seed: 2, seconds: 30, fromCache: false },
  ]);
  // The generic store has its own methods but the same split; its pretraining record of seed 2 is
  // a cached copy (seconds of the original run), and seed 3 is outside the grid.
  writeStore(path.join(root, "generic"), ["gen"], { ...CONFIG, methods: ["gen"] }, [
    { pretext: "gen-pretext", seed: 1, seconds: 4, fromCache: false },
    { pretext: "gen-pretext", seed: 2, seconds: 8, fromCache: true },
    { pretext: "gen-pretext", seed: 3, seconds: 1000, fromCache: false },
  ]);
  const stores = loadLeaderboardRows(SPEC, root);
  assert.equal(stores.rows.length, 3 * 2 * 2 * 4 * 2, "only the compared label, raw scoring");
  const r = computeLeaderboard(SPEC, stores);
  assert.deepEqual(r.missed.map((m) => [m.entry.method, m.budget, m.seed, m.label, m.images, m.of]), [["gen", 2, 1, "LV", 4, 4]]);
  const at = (m: string, b: number) => r.rows.find((x) => x.entry.method === m && x.budget === b)!;
  // Mean over seeds of per-seed subject means: the phase offsets cancel; subjects add 0.0015 on average, seeds 0.015.
  for (const [m, base] of [["scratch", 0.5], ["anat", 0.7], ["gen", 0.6]] as const) {
    for (const b of [1, 2]) assert.ok(Math.abs(at(m, b).dice.mean - (base + 0.05 * b + 0.015 + 0.0015)) < 1e-12, `${m} at ${b}`);
  }
  assert.deepEqual([1, 2].map((b) => ["anat", "gen", "scratch"].map((m) => at(m, b).rank)), [[1, 2, 3], [1, 2, 3]]);
  // Every per-subject gain is exactly 0.2 (anat) and 0.1 (gen): the bootstrap CI collapses onto it.
  assert.ok(Math.abs(at("anat", 1).gain!.meanGain - 0.2) < 1e-12 && Math.abs(at("anat", 1).gain!.ciLow - 0.2) < 1e-9);
  assert.ok(Math.abs(at("gen", 2).gain!.meanGain - 0.1) < 1e-12);
  assert.equal(at("scratch", 1).gain, undefined);
  const pair = r.pairs.find((p) => p.anatomy.method === "anat" && p.generic.method === "gen" && p.budget === 1)!;
  assert.ok(Math.abs(pair.c.meanGain - 0.1) < 1e-12);
  assert.equal(at("anat", 1).pretrainSeconds, 20);
  assert.equal(at("gen", 1).pretrainSeconds, 6, "seeds of the grid only, cached copies count with their original seconds");
  const md = leaderboardMarkdown(r, { file: "toy-gain.html" }).join("\n");
  // Every draw of the difference is +0.1: bootstrap p 0, so it also survives Holm's correction (†).
  assert.match(md, /\| 1 \| anatomy \| \*\*\+0\.100 \[\+0\.100, \+0\.100\]\*\* † \|/);
  assert.deepEqual(r.pairs.map((p) => [p.budget, p.c.bootstrapP, p.holmP]), [[1, 0, 0], [2, 0, 0]]);
  assert.match(md, /2 of the 2 CIs exclude 0; if no pretext differed from another, about 0\.1 would by chance\. 2 of them survive Holm's correction\./);
  assert.match(md, /- \*\*anatomy\*\* at 1: beats generic †; loses to none/);
  assert.match(md, /\*\*Runs that never found a structure\*\* \(Dice < 0\.1 on most test images\): generic at 2, seed 1: LV \(4\/4\)\. They stay/);
  // The marks follow each pair's CI and Holm-adjusted p: bold without † when only the CI excludes 0,
  // nothing when only the adjusted p is small (the CI decides a claim; Holm only withdraws some).
  const shown = (pairs: [number, number, number][]) =>
    leaderboardMarkdown({ ...r, pairs: r.pairs.map((p, i) => ({ ...p, c: { ...p.c, meanGain: pairs[i][0], ciLow: pairs[i][0] - 0.01, ciHigh: pairs[i][0] + 0.01 }, holmP: pairs[i][2] })) }, { file: "toy-gain.html" }).join("\n");
  const mixed = shown([[0.05, 0, 0.2], [0.005, 0, 0.01]]);
  assert.match(mixed, /\| 1 \| anatomy \| \*\*\+0\.050 \[\+0\.040, \+0\.060\]\*\* \|/);
  assert.match(mixed, /\| 2 \| anatomy \| \+0\.005 \[-0\.005, \+0\.015\] \|/);
  assert.match(mixed, /1 of the 2 CIs exclude 0; .* 0 of them survive Holm's correction\./);
  assert.match(mixed, /at 1: beats generic; loses to none; .* at 2: beats none; loses to none; no difference shown with the other 1\./);
  assert.match(shown([[-0.05, 0, 0.01], [0, 0, 1]]), /at 1: beats none; loses to generic †;/);
  fs.rmSync(root, { recursive: true, force: true });
});

test("leaderboard: refuses stores made with another split and names a missing cell", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "leaderboard-"));
  writeStore(path.join(root, "host"), ["scratch", "anat"], { ...CONFIG, methods: ["scratch", "anat"] });
  writeStore(path.join(root, "generic"), ["gen"], { ...CONFIG, splitSeed: 7, methods: ["gen"] });
  assert.throws(() => loadLeaderboardRows(SPEC, root), /results\/generic and results\/host were made with different splitSeed/);
  fs.rmSync(path.join(root, "generic"), { recursive: true });
  writeStore(path.join(root, "generic"), [], { ...CONFIG, methods: ["gen"] });
  assert.throws(() => loadLeaderboardRows(SPEC, root), /4 cells missing, e\.g\. gen \(results\/generic\) gen\|1\|1/);
  fs.rmSync(path.join(root, "generic"), { recursive: true });
  assert.throws(() => loadLeaderboardRows(SPEC, root), /generic[/\\]config\.json not found: run `anatomy-ssl reproduce generic` first/);
  fs.rmSync(root, { recursive: true, force: true });
});

test("leaderboard: a store without pretraining records shows its run's average per pretraining run, marked", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "leaderboard-"));
  writeStore(path.join(root, "host"), ["scratch", "anat"], { ...CONFIG, methods: ["scratch", "anat"] });
  // Two invocations: 3 runs in 90 s, then 1 run in 30 s -> 30 s per run.
  fs.writeFileSync(path.join(root, "host", "run.json"), JSON.stringify({ invocations: [{ pretrainSeconds: 90, pretrainRuns: 3 }, { pretrainSeconds: 30, pretrainRuns: 1 }] }));
  writeStore(path.join(root, "generic"), ["gen"], { ...CONFIG, methods: ["gen"] }, [{ pretext: "gen-pretext", seed: 1, seconds: 4, fromCache: false }]);
  const r = computeLeaderboard(SPEC, loadLeaderboardRows(SPEC, root));
  const anat = r.rows.find((x) => x.entry.method === "anat")!;
  assert.equal(anat.pretrainSeconds, 30);
  assert.equal(anat.pretrainSource, "run average");
  assert.equal(r.rows.find((x) => x.entry.method === "gen")!.pretrainSource, "records");
  assert.equal(r.rows.find((x) => x.entry.method === "scratch")!.pretrainSeconds, undefined);
  assert.match(leaderboardMarkdown(r, { file: "f.html" }).join("\n"), /~30 \(average of results\/host's 4 runs of all its pretexts\)/);
  fs.rmSync(root, { recursive: true, force: true });
});

test("leaderboard: names each folder's backend, and says costs from different backends are not comparable", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "leaderboard-"));
  writeStore(path.join(root, "host"), ["scratch", "anat"], { ...CONFIG, methods: ["scratch", "anat"] });
  writeStore(path.join(root, "generic"), ["gen"], { ...CONFIG, methods: ["gen"] }, [{ pretext: "gen-pretext", seed: 1, seconds: 4, fromCache: false }]);
  const runJson = (folder: string, invocations: object[]) => fs.writeFileSync(path.join(root, folder, "run.json"), JSON.stringify({ invocations }));
  // The host's second invocation computed nothing: its backend does not count.
  runJson("host", [{ pretrainSeconds: 90, pretrainRuns: 3, cellsRun: 8, backend: "B1" }, { pretrainSeconds: 0, pretrainRuns: 0, cellsRun: 0, backend: "B9" }]);
  runJson("generic", [{ pretrainSeconds: 4, pretrainRuns: 1, cellsRun: 8, backend: "B1" }]);
  const markdown = () => {
    return leaderboardMarkdown(computeLeaderboard(SPEC, loadLeaderboardRows(SPEC, root)), { file: "f.html" }).join("\n");
  };
  let md = markdown();
  assert.match(md, /results\/host on B1; results\/generic on B1\./);
  assert.doesNotMatch(md, /B9|not comparable/);
  runJson("generic", [{ pretrainSeconds: 4, pretrainRuns: 1, cellsRun: 8, backend: "wasm (SIMD, 2 threads), native kernels not used: /x/dnnl.node did not load" }]);
  md = markdown();
  assert.match(md, /results\/generic on wasm \(SIMD, 2 threads\), native kernels not used\./);
  assert.match(md, /different backends \(B1; wasm \(SIMD, 2 threads\), native kernels not used\), so their costs are not comparable/);
  fs.rmSync(root, { recursive: true, force: true });
});
