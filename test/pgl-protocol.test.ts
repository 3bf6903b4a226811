// The PGL paper's parts: synthetic cases round-trip through the BTCV layout and loader with every
// organ's voxels; the 3D training grid holds every organ at its volume; the box filter against a
// hand computation; and the whole protocol end to end at a tiny scale.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { BtcvDataset } from "../src/datasets/btcv.js";
import { boxSmooth, organClasses, prepareCtVolume } from "../src/experiments/ct-volumes.js";
import { PGL_FULL, PGL_ORGANS } from "../src/experiments/papers/pgl-config.js";
import { ensureSyntheticBtcv } from "../src/experiments/synthetic-btcv.js";
import { ABDOMEN_LABELS, generateAbdomenCt } from "../src/phantoms/abdomen/index.js";

const SMALL = { matrix: 64, pixelMm: 6, sliceMm: 6, slices: 24 };
/** The phantom's label value of each organ PGL segments. */
const PHANTOM: Record<string, number> = { liver: ABDOMEN_LABELS.liver, spleen: ABDOMEN_LABELS.spleen, kidney_left: ABDOMEN_LABELS.kidney_left, kidney_right: ABDOMEN_LABELS.kidney_right, stomach: ABDOMEN_LABELS.stomach, aorta: ABDOMEN_LABELS.aorta, inferior_vena_cava: ABDOMEN_LABELS.ivc, pancreas: ABDOMEN_LABELS.pancreas };

test("synthetic cases: written in the BTCV layout, read back by its loader with every organ's voxels", async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-btcv-"));
  const before = process.env.ANATOMY_SSL_CACHE;
  process.env.ANATOMY_SSL_CACHE = cache;
  try {
    const dataset = new BtcvDataset(await ensureSyntheticBtcv(2, SMALL));
    assert.deepEqual(await dataset.listCases(), ["0001", "0002"]);
    const c = await dataset.loadCase("0002", { image: true, labels: true });
    const ct = generateAbdomenCt(2, { ...SMALL, tumorProbability: 0 });
    const byName = Object.fromEntries(Object.entries(c.labelNames).map(([v, n]) => [n, Number(v)]));
    for (const organ of PGL_ORGANS) {
      // Same voxels, by name: the loader's value for the organ where the phantom has the organ.
      const stored = byName[organ];
      assert.ok(stored !== undefined, `${organ} has a BTCV label`);
      let mismatches = 0;
      let count = 0;
      ct.labels.data.forEach((v, o) => {
        if ((v === PHANTOM[organ]) !== (c.labels!.data[o] === stored)) mismatches++;
        if (v === PHANTOM[organ]) count++;
      });
      assert.ok(count > 0, `${organ} present in the phantom`);
      assert.equal(mismatches, 0, `${organ}: ${mismatches} voxels differ`);
    }
    assert.deepEqual(c.labels!.affine, ct.labels.affine);
    // HU stored as int16: within rounding of the phantom's.
    let worst = 0;
    ct.image.data.forEach((v, o) => (worst = Math.max(worst, Math.abs(v - c.image!.data[o]))));
    assert.ok(worst <= 0.5 + 1e-6, `HU differs by up to ${worst}`);
  } finally {
    if (before === undefined) delete process.env.ANATOMY_SSL_CACHE;
    else process.env.ANATOMY_SSL_CACHE = before;
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("the 3D training grid holds every organ of the default phantom at its volume", () => {
  const names = Object.fromEntries(Object.entries(PHANTOM).map(([n, v]) => [v, n]));
  for (const seed of [1, 2, 3]) {
    const ct = generateAbdomenCt(seed, { tumorProbability: 0 });
    const classes = organClasses(ct.labels, names, PGL_ORGANS, `phantom ${seed}`);
    const stack = prepareCtVolume(String(seed), ct.image, classes, PGL_FULL.grid);
    const g = PGL_FULL.grid;
    const scanMl = (k: number) => (classes.data.filter((v) => v === k).length * 27) / 1000;
    const gridMl = (k: number) => (stack.labels!.filter((v) => v === k).length * g.pixelMm * g.pixelMm * g.sliceMm) / 1000;
    for (const [k, organ] of ["liver", "spleen", "kidney_left", "kidney_right"].map((o) => [PGL_ORGANS.indexOf(o as never) + 1, o] as [number, string])) {
      assert.ok(Math.abs(gridMl(k) - scanMl(k)) / scanMl(k) < 0.1, `seed ${seed} ${organ}: ${scanMl(k).toFixed(0)} ml in the scan, ${gridMl(k).toFixed(0)} ml on the grid`);
    }
    // No organ on the in-plane border (the grid is wide enough; the scan's ends may cut organs in z).
    const n = g.size;
    for (let k = 0; k < g.slices; k++)
      for (let t = 0; t < n; t++)
        for (const o of [t, (n - 1) * n + t, t * n, t * n + n - 1]) assert.equal(stack.labels![k * n * n + o], 0, `seed ${seed}: an organ on the grid's border at slice ${k}`);
  }
});

test("boxSmooth: the mean over the box, by hand, edges averaging what lies inside", () => {
  // 4 x 1 x 1 volume, width 2 along x: out[i] = mean(in[i - 0 .. i + 1]) (lo = floor((2-1)/2) = 0).
  const v = { data: Float32Array.from([1, 3, 5, 11]), shape: [4, 1, 1], spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] };
  assert.deepEqual(Array.from(boxSmooth(v, [2, 1, 1]).data), [2, 4, 8, 11]);
  // Width 3 along y on a 1 x 3 x 1 column.
  const w = { ...v, data: Float32Array.from([3, 6, 12]), shape: [1, 3, 1] };
  assert.deepEqual(Array.from(boxSmooth(w, [1, 3, 1]).data), [4.5, 7, 9]);
});

test("pgl: the protocol end to end, tiny (three pretexts with feature matching, per-organ rows, the verdict table)", { timeout: 600_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-pgl-"));
  try {
    const set = [
      "syntheticSubjects=6", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "ct.matrix=48", "ct.pixelMm=8", "ct.slices=24", "ct.sliceMm=8",
      "grid.size=16", "grid.slices=8", "grid.pixelMm=20", "grid.sliceMm=20", "views.shape=8,8,8", "views.spacingMm=20,20,20", "views.jitterMm=10,10,10",
      "unet.baseFilters=2", "pgl.hidden=4", "pgl.projection=4", "pairs=1", "heldOutPairs=1",
      "pretrain.steps=2", "finetune.maxSteps=2", "finetune.validateEvery=1", "finetune.patience=1", "finetune.minSteps=0", "budgets=1,2", "seeds=1",
    ].flatMap((s) => ["--set", s]);
    const out = path.join(root, "out");
    const r = spawnSync(process.execPath, [path.resolve(__dirname, "../src/cli.js"), "reproduce", "pgl", "--quick", "--out", out, ...set], { env: { ...process.env, ANATOMY_SSL_CACHE: path.join(root, "cache"), ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 500_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = fs.readFileSync(path.join(out, "rows.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const pretrains = lines.filter((l) => l.type === "pretrain");
    assert.deepEqual(pretrains.map((p) => p.pretext).sort(), ["global", "local", "pgl"]);
    for (const p of pretrains) for (const key of ["match_level1", "match_level1_init", "match_level2", "match_level2_init"]) assert.ok(p.metrics[key] >= 0 && p.metrics[key] <= 1, `${p.pretext} ${key} = ${p.metrics[key]}`);
    const rows = lines.filter((l) => l.type === "row");
    assert.deepEqual([...new Set(rows.map((x) => x.label))].sort(), [...PGL_ORGANS, "mean"].sort());
    assert.equal(lines.filter((l) => l.type === "cell").length, 4 * 2);
    for (const f of ["table.md", "comparisons.csv", "pretexts.csv", "README.md"]) assert.ok(fs.existsSync(path.join(out, f)), f);
    assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /\| \*\*mean of organs\*\* \|/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
