// Zhang 2024 end to end at a tiny scale, run after Bai 2019 on the same data and cache, as
// `reproduce all` does. Bai's pretext and the shared methods must be the same computation in both
// papers: the anatomical-position pretraining is reused from the cache, and Zhang's scratch and
// anatomical-position cells reproduce Bai's scratch and SSL+All cells number for number (same
// splits, seeds, initialisation and training). Every cell is scored raw and after the
// largest-component step, and the tables never mix the two.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

const cli = path.resolve(__dirname, "../src/cli.js");
const TINY = [
  "syntheticSubjects=8", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "exam.matrix=32", "exam.pixel=5", "size=32", "pixel=5",
  "unet.depth=3", "unet.baseFilters=4", "batch=2", "pretrain.steps=4", "finetune.maxSteps=3", "finetune.validateEvery=1", "finetune.patience=1", "budgets=1,2", "seeds=1",
];

function run(paper: string, out: string, cache: string, extra: string[]) {
  const args = [cli, "reproduce", paper, "--quick", "--out", out, ...[...TINY, ...extra].flatMap((s) => ["--set", s])];
  return spawnSync(process.execPath, args, { env: { ...process.env, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 300_000 });
}

type Line = { type: string; method: string; budget: number; seed: number; subject: string; phase: string; label: string; metric: string; value: number; postprocess?: string };
const lines = (dir: string): Line[] => fs.readFileSync(path.join(dir, "rows.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const key = (r: Line) => `${r.budget}|${r.seed}|${r.subject}|${r.phase}|${r.label}|${r.metric}`;

test("zhang2024: shares Bai's pretraining and reproduces its shared cells; scores raw and with the largest component", { timeout: 600_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-zhang-"));
  const cache = path.join(root, "cache");
  try {
    const bai = run("bai2019", path.join(root, "bai"), cache, ["methods=scratch,ssl-all"]);
    assert.equal(bai.status, 0, bai.stderr);
    const zhangOut = path.join(root, "zhang");
    const zhang = run("zhang2024", zhangOut, cache, []);
    assert.equal(zhang.status, 0, zhang.stderr);

    const runInfo = JSON.parse(fs.readFileSync(path.join(zhangOut, "run.json"), "utf8"));
    // Four pretexts needed; Bai's was cached by the bai2019 run.
    assert.deepEqual([runInfo.invocations[0].pretrainRuns, runInfo.invocations[0].pretrainCached], [3, 1]);
    // The store records each pretraining run once, the cached one with the cost of the run that made it.
    const pretrains = lines(zhangOut).filter((l) => l.type === "pretrain") as unknown as { pretext: string; fromCache: boolean; seconds: number; paper: string }[];
    assert.deepEqual(pretrains.map((p) => [p.pretext, p.fromCache]).sort(), [["anatomical-position", true], ["plane-intersection", false], ["plane-location", false], ["slice-location", false]]);
    for (const p of pretrains) assert.ok(p.seconds > 0 && p.paper === "zhang2024", JSON.stringify(p));
    const baiPretrain = lines(path.join(root, "bai")).filter((l) => l.type === "pretrain") as unknown as { seconds: number }[];
    assert.equal(pretrains.find((p) => p.fromCache)!.seconds, baiPretrain[0].seconds, "the cached run's own cost");

    const baiRows = lines(path.join(root, "bai")).filter((l) => l.type === "row");
    const zhangLines = lines(zhangOut);
    const zhangRows = zhangLines.filter((l) => l.type === "row");
    for (const [zhangMethod, baiMethod] of [["scratch", "scratch"], ["anatomical-position", "ssl-all"]]) {
      const b = new Map(baiRows.filter((r) => r.method === baiMethod).map((r) => [key(r), r.value]));
      const z = zhangRows.filter((r) => r.method === zhangMethod && r.postprocess === undefined);
      assert.equal(z.length, b.size, `${zhangMethod}: as many raw rows as Bai's ${baiMethod}`);
      for (const r of z) assert.ok(Object.is(r.value, b.get(key(r))), `${zhangMethod} ${key(r)}: ${r.value} vs Bai ${baiMethod} ${b.get(key(r))}`);
    }

    // Every cell: one LCC row per raw row; SA cells score SA stacks, 4CH cells one-slice images.
    const cells = zhangLines.filter((l) => l.type === "cell");
    assert.equal(cells.length, 2 * 7, "7 methods x 2 budgets");
    for (const c of cells) {
      const rows = zhangRows.filter((r) => r.method === c.method && r.budget === c.budget);
      const raw = rows.filter((r) => r.postprocess === undefined);
      const lcc = rows.filter((r) => r.postprocess === "largest-component");
      assert.equal(rows.length, raw.length + lcc.length);
      assert.deepEqual(lcc.map(key), raw.map(key), `${c.method} ${c.budget}: the same rows with the step`);
    }
    const table = fs.readFileSync(path.join(zhangOut, "table.md"), "utf8");
    for (const title of ["SA segmentation, largest connected component kept", "SA segmentation, raw network output", "4CH segmentation, largest connected component kept", "4CH segmentation, raw network output"]) assert.ok(table.includes(title), title);
    for (const m of ["scratch", "planes", "location", "planes-location", "anatomical-position", "4ch-scratch", "4ch-planes-location"]) assert.match(table, new RegExp(`\\| 2 \\| ${m} \\|`));
    // The summaries are per scoring: each (method, budget, label, metric) once per file.
    for (const file of ["summary.csv", "summary-lcc.csv"]) {
      const ks = fs.readFileSync(path.join(zhangOut, file), "utf8").trim().split("\n").slice(1).map((l) => l.split(",").slice(0, 4).join(","));
      assert.equal(new Set(ks).size, ks.length, `${file}: no duplicated summary`);
    }
    const readme = fs.readFileSync(path.join(zhangOut, "README.md"), "utf8");
    for (const claim of ["Claim 1 — A (plane intersections) beats scratch", "Claim 2 — B (slice location) beats scratch", "Claim 3 — A+B is best"]) assert.ok(readme.includes(claim), claim);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
