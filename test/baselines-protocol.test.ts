// The generic baselines end to end at a toy scale, through the CLI: every generic pretext
// pretrains on each host's unlabelled images, transfers into that host's segmentation network and
// fine-tunes in its protocol; then a leaderboard is written from the host's store and the
// baseline store (their real configurations must agree on the split and fine-tuning).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { LEADERBOARDS, writeLeaderboards } from "../src/experiments/leaderboards.js";
import { ResultsStore } from "../src/experiments/results.js";

const cli = path.resolve(__dirname, "../src/cli.js");
const sets = (xs: string[]) => xs.flatMap((s) => ["--set", s]);

const CARDIAC = sets([
  "syntheticSubjects=8", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "exam.matrix=32", "exam.pixel=5", "size=32", "pixel=5",
  "unet.depth=3", "unet.baseFilters=4", "batch=2", "pretrain.steps=3", "finetune.maxSteps=2", "finetune.validateEvery=1", "finetune.patience=1", "budgets=1", "seeds=1",
]);
const KIDNEY = sets([
  "syntheticSubjects=7", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "ct.matrix=64", "ct.pixelMm=6", "ct.slices=24", "ct.sliceMm=6", "ct.tumorProbability=1",
  "grid.size=32", "grid.pixel=9", "grid.sliceMm=6", "sections.cropPx=16", "sections.perSide=4", "unet.depth=3", "unet.baseFilters=4", "batch=2", "pairs=4", "heldOutPairs=40",
  "pretrain.steps=3", "finetune.maxSteps=2", "finetune.validateEvery=1", "finetune.patience=1", "budgets=1", "seeds=1",
]);
const PGL = sets([
  "syntheticSubjects=6", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "ct.matrix=48", "ct.pixelMm=8", "ct.slices=24", "ct.sliceMm=8",
  "grid.size=16", "grid.slices=8", "grid.pixelMm=20", "grid.sliceMm=20", "views.shape=8,8,8", "views.spacingMm=20,20,20", "views.jitterMm=10,10,10",
  "unet.baseFilters=2", "pgl.hidden=4", "pgl.projection=4", "pairs=1", "heldOutPairs=1",
  "pretrain.steps=2", "finetune.maxSteps=2", "finetune.validateEvery=1", "finetune.patience=1", "finetune.minSteps=0", "budgets=1", "seeds=1",
]);

function reproduce(paper: string, out: string, settings: string[], cache: string, extra: string[] = []): void {
  const r = spawnSync(process.execPath, [cli, "reproduce", paper, "--out", out, ...settings, ...extra], { env: { ...process.env, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 600_000 });
  assert.equal(r.status, 0, `${paper}: ${r.stderr}`);
}

for (const [host, baseline, settings, methods, hostMethods] of [
  ["bai2019", "baselines-cardiac", CARDIAC, ["rotation", "genesis", "simclr", "mim"], ["scratch", "ssl-all"]],
  ["kidney", "baselines-kidney", KIDNEY, ["rotation", "genesis", "simclr", "mim"], ["scratch", "side-free"]],
  ["pgl", "baselines-pgl", PGL, ["rotation", "genesis", "mim"], ["scratch", "pgl"]],
] as const) {
  test(`${baseline}: every generic pretext pretrains, transfers and fine-tunes in ${host}'s protocol; the leaderboard combines the stores`, { timeout: 900_000 }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `anatomy-ssl-${baseline}-`));
    const cache = path.join(root, "cache");
    reproduce(baseline, path.join(root, baseline), settings, cache);
    const store = new ResultsStore(path.join(root, baseline, "rows.jsonl")).load();
    assert.deepEqual([...store.cells.values()].map((c) => c.method).sort(), [...methods].sort());
    assert.deepEqual([...store.pretrains.values()].map((p) => p.pretext).sort(), [...methods].sort(), "one pretraining run per pretext");
    for (const p of store.pretrains.values()) assert.ok(p.seconds > 0 && Number.isFinite(p.finalLoss!), `${p.pretext}: a recorded run`);
    assert.ok(store.rows.some((r) => r.metric === "dice" && Number.isFinite(r.value)));
    assert.ok(fs.existsSync(path.join(root, baseline, "README.md")));

    // The host's own cells on the same (toy) settings, then the leaderboard from both stores.
    const pretrainOnly = host === "kidney" ? ["--set", "pretrainOnly="] : [];
    reproduce(host, path.join(root, host), settings, cache, ["--set", `methods=${hostMethods.join(",")}`, ...pretrainOnly]);
    const spec = LEADERBOARDS.find((s) => s.entries.some((e) => e.from === baseline))!;
    const entries = spec.entries.filter((e) => e.from === baseline || (e.from === host && hostMethods.includes(e.method as never)));
    const { results } = writeLeaderboards({ resultsDir: root, outDir: path.join(root, "leaderboard"), specs: [{ ...spec, entries }] });
    const r = results[0];
    assert.equal(r.rows.length, entries.length, "one row per pretext at the one budget");
    assert.equal(r.pairs.length, entries.filter((e) => e.kind === "anatomy").length * entries.filter((e) => e.kind === "generic").length);
    assert.ok(r.rows.filter((x) => x.entry.kind !== "scratch").every((x) => x.gain && Number.isFinite(x.gain.meanGain)), "every pretext has its gain over scratch");
    const readme = fs.readFileSync(path.join(root, "leaderboard", "README.md"), "utf8");
    for (const e of entries) assert.ok(readme.includes(e.label), `${e.label} in the leaderboard`);
    assert.ok(fs.existsSync(path.join(root, "leaderboard", `${spec.name}.csv`)));
    fs.rmSync(root, { recursive: true, force: true });
  });
}
