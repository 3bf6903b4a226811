// Zhang 2024 on the protocol: A, B and A+B are one network with different loss weights, so an
// ablation must leave the switched-off part untouched (A alone: the location head; B alone: the
// decoder and heatmap head); the largest-component scoring matches a hand computation; and tables
// refuse rows scored two ways.
import assert from "node:assert/strict";
import { test } from "node:test";
import { initBackend } from "../src/backend/index.js";
import { prepareStacks, type Stack } from "../src/experiments/cardiac-stacks.js";
import { PLANE_INTERSECTION, PLANE_LOCATION, SLICE_LOCATION, scoreBothWays, type Zhang2024Data } from "../src/experiments/papers/zhang2024.js";
import { ZHANG2024_QUICK, type Zhang2024Config } from "../src/experiments/papers/zhang2024-config.js";
import type { ResultRow } from "../src/experiments/results.js";
import { summarizeCells } from "../src/experiments/tables.js";
import { compareWithBaseline } from "../src/experiments/comparisons.js";
import type { SubjectData } from "../src/datasets/types.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";

const config: Zhang2024Config = { ...ZHANG2024_QUICK, size: 32, pixel: 5, unet: { depth: 3, baseFilters: 4 }, batch: 2, pretrain: { steps: 3, learningRate: 1e-2 }, locationHead: { hidden: 8, dropout: 0 } };

function pretextData(): Zhang2024Data {
  const exam = generateCardiacExam(4, { matrix: 32, pixel: 5 });
  const subject: SubjectData = { dataset: "phantom", id: "004", views: exam.views as SubjectData["views"], info: {}, warnings: [] };
  const stacks = prepareStacks(subject, { size: 32, pixel: 5, labels: false, heatmapViews: ["2CH", "4CH"], sigmaMm: config.sigmaMm, locations: true });
  return { pool: [], validation: [], test: [], pretext: stacks, longAxis: { pool: new Map(), validation: [], test: [] }, description: "one phantom" };
}

/** Names of the weights a pretraining changed. */
async function changedBy(pretext: typeof PLANE_INTERSECTION, data: Zhang2024Data): Promise<Set<string>> {
  const model = pretext.model(config, 1);
  const before = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
  await pretext.train(config, data, model, 1, "");
  const changed = new Set<string>();
  for (const w of model.weights) {
    const a = before.get(w.originalName)!;
    const b = w.read().dataSync();
    if (a.some((v, i) => v !== b[i])) changed.add(w.originalName);
  }
  model.dispose();
  return changed;
}

test("A alone, B alone, A+B: the switched-off task's layers are not trained", { timeout: 120_000 }, async () => {
  await initBackend();
  const data = pretextData();
  const isHeadB = (n: string) => n.startsWith("slice_location");
  const isDecoderOrHeadA = (n: string) => /^dec\d+_|^head\//.test(n) && !n.includes("moving");
  const a = await changedBy(PLANE_INTERSECTION, data);
  const b = await changedBy(SLICE_LOCATION, data);
  const ab = await changedBy(PLANE_LOCATION, data);
  assert.ok([...a].some(isDecoderOrHeadA), "A trains the decoder");
  assert.ok(![...a].some(isHeadB), `A leaves the location head alone: ${[...a].filter(isHeadB)}`);
  assert.ok([...b].some(isHeadB), "B trains the location head");
  assert.ok([...b].some((n) => n.startsWith("enc")), "B trains the encoder");
  assert.ok(![...b].some((n) => /^dec\d+_.*(kernel|bias|gamma|beta)$/.test(n) || n.startsWith("head/")), `B leaves the decoder's weights alone: ${[...b].filter(isDecoderOrHeadA)}`);
  assert.ok([...ab].some(isHeadB) && [...ab].some(isDecoderOrHeadA), "A+B trains both");
});

function stackOf(labels: Uint8Array, size: number, slices: number): Stack {
  return { subject: "s", phase: "ED", size, slices, image: new Float32Array(labels.length), labels, grid: { shape: [size, size, slices], spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] } };
}

test("scoring: an island of LV far from the heart counts raw, not after the largest-component step", () => {
  const size = 12;
  const truth = new Uint8Array(size * size * 2);
  // LV: a 4x4 square on both slices (32 voxels); MYO and RV: one block each.
  for (let k = 0; k < 2; k++)
    for (let y = 2; y < 6; y++)
      for (let x = 2; x < 6; x++) truth[k * 144 + y * size + x] = 1;
  for (let x = 7; x < 10; x++) truth[7 * size + x] = 2;
  for (let x = 7; x < 10; x++) truth[10 * size + x] = 3;
  const pred = truth.slice();
  // An LV island of 4 voxels in a corner of slice 1.
  for (const o of [144 + 11 * size + 10, 144 + 11 * size + 11, 144 + 10 * size + 11, 144 + 10 * size + 10]) pred[o] = 1;
  const rows = scoreBothWays(pred, stackOf(truth, size, 2));
  const dice = (post: ResultRow["postprocess"], label: string) => rows.find((r) => r.postprocess === post && r.label === label && r.metric === "dice")!.value;
  // Raw: 2 * 32 / (36 + 32); after the step the island is gone.
  assert.ok(Math.abs(dice(undefined, "LV") - (2 * 32) / (36 + 32)) < 1e-12);
  assert.equal(dice("largest-component", "LV"), 1);
  assert.equal(dice("largest-component", "MYO"), 1);
  assert.equal(rows.filter((r) => r.postprocess === undefined).length, rows.filter((r) => r.postprocess === "largest-component").length);
});

test("tables and comparisons refuse rows scored two ways", () => {
  const row = (postprocess?: ResultRow["postprocess"]): ResultRow => ({ paper: "p", method: "m", budget: 1, seed: 1, subject: "s", phase: "ED", label: "mean", metric: "dice", value: 0.5, ...(postprocess ? { postprocess } : {}) });
  assert.throws(() => summarizeCells([row(), row("largest-component")]), /post-processing \(none, largest-component\).*scoredAs/);
  assert.throws(() => compareWithBaseline([row(), row("largest-component")], "m"), /compareWithBaseline: rows scored with different post-processing/);
  assert.equal(summarizeCells([row("largest-component")]).length, 1);
});
