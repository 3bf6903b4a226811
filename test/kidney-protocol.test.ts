// The kidney paper's parts: synthetic cases round-trip through the KiTS19 layout and loader; the
// label-free region of interest holds every kidney voxel at the right volume; convergence is
// counted from the stored curves by hand; and the whole protocol runs end to end at a tiny scale.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { convergenceComparison, stepsToReach } from "../src/experiments/convergence.js";
import { prepareCtStack } from "../src/experiments/ct-stacks.js";
import type { CellRecord } from "../src/experiments/results.js";
import { ensureSyntheticKits19, toKits19Labels } from "../src/experiments/synthetic-abdomen.js";
import { Kits19Dataset } from "../src/datasets/kits19.js";
import { generateAbdomenCt } from "../src/phantoms/abdomen/index.js";

const SMALL = { matrix: 64, pixelMm: 6, sliceMm: 6, slices: 24, tumorProbability: 1 };

test("synthetic cases: written in the KiTS19 layout, read back by its loader at the same world positions", async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-abdomen-"));
  const before = process.env.ANATOMY_SSL_CACHE;
  process.env.ANATOMY_SSL_CACHE = cache;
  try {
    const dir = await ensureSyntheticKits19(2, SMALL);
    const dataset = new Kits19Dataset(dir);
    assert.deepEqual(await dataset.listCases(), ["case_00001", "case_00002"]);
    const c = await dataset.loadCase("case_00002", { image: true, labels: true });
    const ct = generateAbdomenCt(2, SMALL);
    const want = toKits19Labels(ct.labels);
    // Every labelled voxel of the phantom is at the same world point with the same value in the loaded case.
    const A = ct.labels.affine;
    const B = c.labels!.affine;
    const [nx, ny] = ct.labels.shape;
    const [mx, my] = c.labels!.shape;
    let checked = 0;
    for (let o = 0; o < want.data.length; o += 7) {
      const i = o % nx, j = Math.floor(o / nx) % ny, k = Math.floor(o / (nx * ny));
      const w = [0, 1, 2].map((r) => A[r][0] * i + A[r][1] * j + A[r][2] * k + A[r][3]); // the phantom voxel's world point
      // Solve the loaded (diagonal, possibly flipped) affine for this world point.
      const v = [0, 1, 2].map((r) => Math.round((w[r] - B[r][3]) / B[r][r]));
      assert.ok(Math.abs(B[0][1]) + Math.abs(B[1][0]) + Math.abs(B[0][2]) < 1e-9, "diagonal affine");
      assert.equal(c.labels!.data[v[0] + mx * (v[1] + my * v[2])], want.data[o], `voxel ${i},${j},${k}`);
      assert.equal(c.image!.data[v[0] + mx * (v[1] + my * v[2])], ct.image.data[o]);
      checked++;
    }
    assert.ok(checked > 1000);
    assert.ok(want.data.includes(2) && want.data.includes(1), "kidney and tumour present");
  } finally {
    if (before === undefined) delete process.env.ANATOMY_SSL_CACHE;
    else process.env.ANATOMY_SSL_CACHE = before;
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("the label-free region of interest holds every kidney voxel, at the right volume", () => {
  for (const seed of [1, 2, 3]) {
    const ct = generateAbdomenCt(seed, { matrix: 96, pixelMm: 4, sliceMm: 4, slices: 40 });
    const labels = toKits19Labels(ct.labels);
    const stack = prepareCtStack(String(seed), ct.image, labels, { size: 64, pixel: 4.5, sliceMm: 4, anteriorMm: 40 });
    const ml = (n: number, voxelMl: number) => n * voxelMl;
    const inScan = ml(labels.data.filter((v) => v > 0).length, (4 * 4 * 4) / 1000);
    const inRoi = ml(stack.labels!.filter((v) => v > 0).length, (4.5 * 4.5 * 4) / 1000);
    assert.ok(inScan > 200 && Math.abs(inRoi - inScan) / inScan < 0.06, `seed ${seed}: ${inScan.toFixed(0)} ml in the scan, ${inRoi.toFixed(0)} ml in the ROI`);
    // No kidney touches the ROI's border (the box is wide enough).
    const n = 64;
    for (let k = 0; k < stack.slices; k++)
      for (let t = 0; t < n; t++)
        for (const o of [t, (n - 1) * n + t, t * n, t * n + n - 1]) assert.equal(stack.labels![k * n * n + o], 0, `seed ${seed}: kidney on the ROI border at slice ${k}`);
  }
});

test("convergence: steps to reach a fraction of scratch's best, per seed, by hand", () => {
  const cell = (method: string, seed: number, scores: number[]): CellRecord => ({
    paper: "p", method, budget: 1, seed, trainSubjects: [], steps: scores.length * 10, seconds: 1, finishedAt: "t",
    curve: { loss: [], validation: scores.map((score, i) => ({ step: (i + 1) * 10, score })) },
  });
  assert.deepEqual(stepsToReach(cell("m", 1, [0.1, 0.5, 0.9]), 0.45), { steps: 20, reached: true });
  assert.deepEqual(stepsToReach(cell("m", 1, [0.1, 0.2]), 0.45), { steps: 20, reached: false });
  const cells = [
    cell("scratch", 1, [0.2, 0.5, 0.8, 1.0]), // 0.9 x 1.0: reached at 40
    cell("ssl", 1, [0.95, 0.97, 0.99, 1.0]), // at 10
    cell("scratch", 2, [0.1, 0.6, 0.6, 0.6]), // 0.9 x 0.6 = 0.54: at 20
    cell("ssl", 2, [0.1, 0.2, 0.3, 0.4]), // never: censored at 40
  ];
  const [row] = convergenceComparison(cells, "scratch", 0.9);
  assert.deepEqual(row.perSeed.map((p) => [p.baseline, p.method, p.methodReached]), [[40, 10, true], [20, 40, false]]);
  assert.equal(row.saved.mean, (30 + -20) / 2);
  assert.equal(row.saved.n, 2);
});

test("kidney: the protocol end to end, tiny (pretraining records with held-out accuracy, kidney and tumour rows)", { timeout: 600_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-kidney-"));
  try {
    const set = [
      "syntheticSubjects=7", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "ct.matrix=64", "ct.pixelMm=6", "ct.slices=24", "ct.sliceMm=6", "ct.tumorProbability=1",
      "grid.size=32", "grid.pixel=9", "grid.sliceMm=6", "sections.cropPx=16", "sections.perSide=4", "unet.depth=3", "unet.baseFilters=4", "batch=2", "pairs=4", "heldOutPairs=40",
      "pretrain.steps=3", "finetune.maxSteps=2", "finetune.validateEvery=1", "finetune.patience=1", "budgets=1,2", "seeds=1",
    ].flatMap((s) => ["--set", s]);
    const out = path.join(root, "out");
    const r = spawnSync(process.execPath, [path.resolve(__dirname, "../src/cli.js"), "reproduce", "kidney", "--quick", "--out", out, ...set], { env: { ...process.env, ANATOMY_SSL_CACHE: path.join(root, "cache"), ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 500_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = fs.readFileSync(path.join(out, "rows.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const pretrains = lines.filter((l) => l.type === "pretrain");
    assert.deepEqual(pretrains.map((p) => p.pretext).sort(), ["side-free-mirrored", "side-free-unmirrored", "side-labels", "side-labels-mirrored"]);
    for (const p of pretrains) assert.ok(p.metrics.heldOutAccuracy >= 0 && p.metrics.heldOutAccuracy <= 1 && p.metrics.trainAccuracy >= 0);
    const rows = lines.filter((l) => l.type === "row");
    assert.deepEqual([...new Set(rows.map((x) => x.label))].sort(), ["kidney", "tumor"]);
    assert.equal(lines.filter((l) => l.type === "cell").length, 3 * 2);
    for (const f of ["table.md", "comparisons.csv", "convergence.csv", "pretexts.csv", "README.md"]) assert.ok(fs.existsSync(path.join(out, f)), f);
    assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /Claim 2 — faster convergence/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
