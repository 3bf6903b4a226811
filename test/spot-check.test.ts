// The spot check (the README's first command): its comparison with a committed run, by hand, and
// end to end at a tiny scale: the same seed on the same machine gives the committed cells exactly,
// an altered committed cell is reported as outside its CI (exit 1), and a committed run made with
// another configuration is flagged as not like for like.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { BAI2019 } from "../src/experiments/papers/bai2019.js";
import { KIDNEY } from "../src/experiments/papers/kidney.js";
import type { Paper, ProtocolConfig } from "../src/experiments/protocol.js";
import { resolveConfig } from "../src/experiments/reproduce.js";
import { ResultsStore, type ResultRow } from "../src/experiments/results.js";
import { compareSpotCheck, spotCheckConfig, spotCheckVerdict } from "../src/experiments/spot-check.js";

test("spotCheckConfig: the full configuration narrowed to the first seed, the key budget and methods, and it validates", () => {
  const c = spotCheckConfig(KIDNEY as unknown as Paper);
  assert.deepEqual(c.seeds, [KIDNEY.full.seeds[0]]);
  assert.deepEqual(c.budgets, [KIDNEY.spotCheck!.budget]);
  assert.deepEqual(c.methods, KIDNEY.spotCheck!.methods);
  assert.deepEqual(c.pretrainOnly, []);
  const strip = (x: ProtocolConfig) => ({ ...x, seeds: 0, budgets: 0, methods: 0, pretrainOnly: 0 });
  assert.deepEqual(strip(c), strip(KIDNEY.full));
  assert.doesNotThrow(() => resolveConfig(KIDNEY as unknown as Paper, { spotCheck: true }));
  assert.throws(() => resolveConfig(KIDNEY as unknown as Paper, { spotCheck: true, quick: true }), /choose one/);
});

// A paper-shaped object with just what the comparison reads.
const FAKE = { name: "fake", title: "Fake", spotCheck: { methods: ["scratch", "ssl"], budget: 1, label: "mean", paperSays: "it helps", paperValues: { scratch: 0.5, ssl: 0.6 } } } as unknown as Paper;
const CONFIG = { seeds: [1], budgets: [1], methods: ["scratch", "ssl"], finetune: { learningRate: 1e-3 } } as unknown as ProtocolConfig;

/** Dice "mean" rows: values[subject] = [ED, ES]. */
function rows(method: string, seed: number, values: Record<string, [number, number]>): ResultRow[] {
  return Object.entries(values).flatMap(([subject, [ed, es]]) => [
    { paper: "fake", method, budget: 1, seed, subject, phase: "ED", label: "mean", metric: "dice" as const, value: ed },
    { paper: "fake", method, budget: 1, seed, subject, phase: "ES", label: "mean", metric: "dice" as const, value: es },
    // Rows the comparison must ignore: another label and another metric.
    { paper: "fake", method, budget: 1, seed, subject, phase: "ED", label: "LV", metric: "dice" as const, value: 0 },
    { paper: "fake", method, budget: 1, seed, subject, phase: "ED", label: "mean", metric: "hd95" as const, value: 99 },
  ]);
}

function committedRun(dir: string, byMethodSeed: Record<string, Record<number, Record<string, [number, number]>>>, config: unknown = CONFIG): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ paper: "fake", quick: false, dataDir: null, config }));
  const store = new ResultsStore(path.join(dir, "rows.jsonl"));
  for (const [method, bySeed] of Object.entries(byMethodSeed)) {
    for (const [seed, values] of Object.entries(bySeed)) {
      store.appendCell({ paper: "fake", method, budget: 1, seed: Number(seed), trainSubjects: ["x"], steps: 1, seconds: 1, finishedAt: "" }, rows(method, Number(seed), values));
    }
  }
}

test("compareSpotCheck: means over subjects of phase-averaged Dice, the gain, and the verdicts, by hand", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spot-check-"));
  const scratch = { a: [0.4, 0.6], b: [0.7, 0.7], c: [0.5, 0.7] } as Record<string, [number, number]>; // subject means 0.5, 0.7, 0.6
  const ssl = { a: [0.6, 0.6], b: [0.8, 1.0], c: [0.6, 0.8] } as Record<string, [number, number]>; // 0.6, 0.9, 0.7
  committedRun(path.join(dir, "same"), { scratch: { 1: scratch, 2: { a: [0.1, 0.1], b: [0.1, 0.1], c: [0.1, 0.1] } }, ssl: { 1: ssl, 2: { a: [0.2, 0.2], b: [0.2, 0.2], c: [0.2, 0.2] } } });
  const mine = [...rows("scratch", 1, scratch), ...rows("ssl", 1, ssl)];

  const same = compareSpotCheck(FAKE, CONFIG, mine, path.join(dir, "same"));
  assert.equal(same.cells[0].method, "scratch");
  assert.ok(Math.abs(same.cells[0].yours - 0.6) < 1e-12);
  assert.ok(Math.abs(same.cells[1].yours - 0.7333333333333334) < 1e-12);
  // Only seed 1 of the committed run is the same cell; seed 2 must not leak into it.
  assert.ok(Math.abs(same.cells[0].committed!.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(same.gains[0].yours - (0.1 + 0.2 + 0.1) / 3) < 1e-12);
  // The gain over both committed seeds: seed 2 gains 0.1 on every subject.
  assert.ok(Math.abs(same.gains[0].committedAll!.mean - ((0.4 / 3 + 0.1) / 2)) < 1e-12);
  assert.equal(same.gains[0].committedAll!.seeds, 2);
  assert.ok(same.cells.every((c) => c.within) && same.gains.every((g) => g.within));
  assert.match(spotCheckVerdict(same), /^fake: REPRODUCED — every key cell equals/);

  // Our scratch far below the committed cell's subject CI (whose values are 0.5..0.7).
  const low = [...rows("scratch", 1, { a: [0.1, 0.1], b: [0.1, 0.1], c: [0.1, 0.1] }), ...rows("ssl", 1, ssl)];
  const differs = compareSpotCheck(FAKE, CONFIG, low, path.join(dir, "same"));
  assert.equal(differs.cells[0].within, false);
  assert.equal(differs.cells[1].within, true);
  assert.match(spotCheckVerdict(differs), /DIFFERS — scratch outside/);

  committedRun(path.join(dir, "other"), { scratch: { 1: scratch }, ssl: { 1: ssl } }, { ...CONFIG, finetune: { learningRate: 1e-2 } });
  assert.match(spotCheckVerdict(compareSpotCheck(FAKE, CONFIG, mine, path.join(dir, "other"))), /NOT like for like: the committed run differs in finetune\.learningRate/);
  assert.match(spotCheckVerdict(compareSpotCheck(FAKE, CONFIG, mine, path.join(dir, "missing"))), /nothing to compare with/);
  fs.rmSync(dir, { recursive: true, force: true });
});

const cli = path.resolve(__dirname, "../src/cli.js");
// Bai 2019 at a toy scale (as in reproduce-resume.test.ts); the spot check's budget 5 does not fit a pool of 2.
const TINY = [
  "syntheticSubjects=8", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "exam.matrix=32", "exam.pixel=5", "size=32", "pixel=5",
  "unet.depth=3", "unet.baseFilters=4", "batch=2", "pretrain.steps=4", "finetune.maxSteps=3", "finetune.validateEvery=1", "finetune.patience=1", "budgets=2",
].flatMap((s) => ["--set", s]);

function run(args: string[], cache: string) {
  const env = { ...process.env, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1" };
  return spawnSync(process.execPath, [cli, ...args], { env, encoding: "utf8", timeout: 600_000 });
}

const diceRows = (dir: string, method: string) =>
  new ResultsStore(path.join(dir, "rows.jsonl")).load().rows.filter((r) => r.method === method && r.budget === 2 && r.seed === 1 && r.metric === "dice").map((r) => `${r.subject} ${r.phase} ${r.label} ${r.value}`).sort();

test("spot-check end to end: retrained cells equal the committed run's; an altered committed cell fails it", { timeout: 900_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-spot-check-"));
  const committed = path.join(root, "committed");
  // The "committed" run: two seeds, its own cache, so the spot check shares nothing with it.
  const full = run(["reproduce", "bai2019", "--out", committed, ...TINY, "--set", "seeds=1,2", "--set", `methods=${BAI2019.spotCheck!.methods.join(",")}`], path.join(root, "cache-a"));
  assert.equal(full.status, 0, full.stderr);

  const check = path.join(root, "check");
  const ok = run(["spot-check", "bai2019", "--out", check, "--against", committed, ...TINY], path.join(root, "cache-b"));
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /bai2019: REPRODUCED — every key cell equals the committed one/);
  for (const method of BAI2019.spotCheck!.methods) {
    const mine = diceRows(check, method);
    assert.ok(mine.length > 0);
    assert.deepEqual(mine, diceRows(committed, method), `${method}: retrained rows differ from the committed ones`);
  }
  assert.ok(fs.existsSync(path.join(check, "spot-check.md")));
  assert.ok(fs.existsSync(path.join(check, "pretrained")), "the spot check pretrains in its own folder");

  // Lower every committed scratch Dice of seed 1 by 0.5: the (resumed, untrained) check now differs.
  const altered = path.join(root, "altered");
  fs.cpSync(committed, altered, { recursive: true });
  const store = path.join(altered, "rows.jsonl");
  const lines = fs.readFileSync(store, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const l of lines) if (l.type === "row" && l.method === "scratch" && l.seed === 1 && l.metric === "dice") l.value = (l.value as number) - 0.5;
  fs.writeFileSync(store, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const bad = run(["spot-check", "bai2019", "--out", check, "--against", altered, ...TINY], path.join(root, "cache-b"));
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /every cell was already computed here/);
  assert.match(bad.stdout, /bai2019: DIFFERS — scratch outside the committed cell's 95% CI/);
  fs.rmSync(root, { recursive: true, force: true });
});
