import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { applyOverrides } from "../src/experiments/config.js";
import { ResultsStore, type CellRecord, type ResultRow } from "../src/experiments/results.js";
import { missedClasses } from "../src/experiments/report.js";
import { markdownTable, perSeedCsv, summarizeCells } from "../src/experiments/tables.js";

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-store-")), "rows.jsonl");
const cell = (method: string, budget: number, seed: number): CellRecord => ({ paper: "p", method, budget, seed, trainSubjects: ["001"], steps: 1, seconds: 1, finishedAt: "t" });
const row = (method: string, budget: number, seed: number, subject: string, value: number, label = "mean"): ResultRow => ({ paper: "p", method, budget, seed, subject, phase: "ED", label, metric: "dice", value });

test("the store keeps complete cells and reports (then repairs) an interrupted write", () => {
  const file = tmpFile();
  const store = new ResultsStore(file);
  store.appendCell(cell("scratch", 1, 1), [row("scratch", 1, 1, "a", 0.5)]);
  // A run killed mid-write leaves rows without their cell marker and a torn last line.
  fs.appendFileSync(file, JSON.stringify({ type: "row", ...row("ssl-all", 1, 1, "a", 0.9) }) + "\n" + '{"type":"row","pap');
  const warnings: string[] = [];
  const { cells, rows } = store.load((w) => warnings.push(w));
  assert.deepEqual([...cells.keys()], ["scratch|1|1"]);
  assert.equal(rows.length, 1);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /last line is incomplete/);
  assert.match(warnings[1], /1 rows of an unfinished cell \(ssl-all\|1\|1\) ignored/);
  // The rerun appends the recomputed cell after repairing the torn line.
  store.appendCell(cell("ssl-all", 1, 1), [row("ssl-all", 1, 1, "a", 0.8)]);
  const again = store.load((w) => {
    throw new Error(`no warning expected after the repair, got: ${w}`);
  });
  assert.deepEqual([...again.cells.keys()].sort(), ["scratch|1|1", "ssl-all|1|1"]);
  assert.deepEqual(again.rows.map((r) => r.value), [0.5, 0.8]);
});

test("a damaged line in the middle is an error naming the file and line", () => {
  const file = tmpFile();
  fs.writeFileSync(file, "not json\n");
  assert.throws(() => new ResultsStore(file).load(), new RegExp(`${path.basename(file)}:1: not valid JSON`));
});

test("a cell stored twice is an error naming the file, line and cell (its rows would count twice)", () => {
  const file = tmpFile();
  const store = new ResultsStore(file);
  store.appendCell(cell("scratch", 1, 1), [row("scratch", 1, 1, "a", 0.5)]);
  store.appendCell(cell("scratch", 1, 1), [row("scratch", 1, 1, "a", 0.5)]);
  assert.throws(() => store.load(), new RegExp(`${file}:4: cell scratch\\|1\\|1 is stored twice`));
});

test("overrides parse to the type they replace and reject unknown keys", () => {
  const base = { steps: 10, lr: 0.1, name: "x", on: false, budgets: [1, 2], inner: { depth: 3 } };
  const c = applyOverrides(base, ["steps=20", "budgets=1,5,10", "inner.depth=4", "on=true", "name=y"]);
  assert.deepEqual(c, { steps: 20, lr: 0.1, name: "y", on: true, budgets: [1, 5, 10], inner: { depth: 4 } });
  assert.equal(base.steps, 10, "the default is not modified");
  assert.throws(() => applyOverrides(base, ["step=3"]), /no such setting; known here: steps, lr, name, on, budgets, inner/);
  assert.throws(() => applyOverrides(base, ["steps=abc"]), /'abc' is not a number/);
  assert.throws(() => applyOverrides(base, ["inner=3"]), /cannot override an object/);
});

test("tables: per-seed means, then mean and sd across seeds", () => {
  const rows: ResultRow[] = [];
  // scratch: seed 1 subjects 0.6, 0.8 (mean 0.7); seed 2: 0.5, 0.7 (mean 0.6). SSL +0.1 on each image.
  for (const [seed, values] of [[1, [0.6, 0.8]], [2, [0.5, 0.7]]] as const) {
    values.forEach((v, i) => {
      rows.push(row("scratch", 5, seed, `s${i}`, v));
      rows.push(row("ssl-all", 5, seed, `s${i}`, v + 0.1));
    });
  }
  const s = summarizeCells(rows);
  const scratch = s.find((x) => x.method === "scratch")!.summary;
  assert.ok(Math.abs(scratch.mean - 0.65) < 1e-12);
  assert.ok(Math.abs(scratch.sd - Math.SQRT1_2 * 0.1) < 1e-12); // sd of {0.7, 0.6}
  assert.equal(scratch.n, 2);
  const md = markdownTable(s, ["scratch", "ssl-all"], ["mean"]);
  assert.match(md, /\| 5 \| scratch \| 0\.650 ± 0\.071 \|/);
  assert.match(md, /\| 5 \| ssl-all \| 0\.750 ± 0\.071 \|/);
  // The per-seed table holds the values the summary is made of: seed 1 scratch (0.6 + 0.8) / 2.
  assert.deepEqual(perSeedCsv(rows, ["mean"]).trim().split("\n"), ["method,budget,seed,dice_mean", "scratch,5,1,0.7000", "scratch,5,2,0.6000", "ssl-all,5,1,0.8000", "ssl-all,5,2,0.7000"]);
});

test("report: a cell whose class Dice is below 0.1 on most test images is named, with the class", () => {
  const rows: ResultRow[] = [];
  [0.05, 0.0, 0.02, 0.9].forEach((v, i) => rows.push(row("scratch", 20, 5, `s${i}`, v, "LV"), row("scratch", 20, 5, `s${i}`, 0.8, "RV"), row("scratch", 20, 5, `s${i}`, 0.5)));
  [0.05, 0.9, 0.9, 0.9].forEach((v, i) => rows.push(row("ssl-all", 20, 5, `s${i}`, v, "LV")));
  assert.deepEqual(missedClasses(rows), [{ method: "scratch", budget: 20, seed: 5, label: "LV", images: 3, of: 4 }]);
});

test("report: cells that hit the step cap while improving are counted, with their late gain", async () => {
  const { capNote } = await import("../src/experiments/report.js");
  const config = { finetune: { maxSteps: 100, validateEvery: 25, patience: 2, minDelta: 0, learningRate: 1 } } as unknown as Parameters<typeof capNote>[1];
  const curve = (scores: number[]) => ({ loss: [], validation: scores.map((score, i) => ({ step: 25 * (i + 1), score })) });
  const cells: CellRecord[] = [
    { ...cell("scratch", 1, 1), steps: 100, stoppedEarly: false, curve: curve([0.5, 0.6, 0.7, 0.8]) }, // last 50 steps: 0.8 - 0.6
    { ...cell("ssl-all", 1, 1), steps: 75, stoppedEarly: true, curve: curve([0.5, 0.9, 0.9]) },
  ];
  assert.match(capNote(cells, config), /1 of 2 reached the cap of 100 steps while still improving \(median gain in validation Dice over their last 50 steps \+0\.200; by method: scratch 1\)/);
  assert.match(capNote([cells[1]], config), /Every cell stopped on a validation plateau/);
});

test("pretraining records: kept between cells, survive the repair of an interrupted cell, and refuse to sit inside a cell's rows", () => {
  const file = tmpFile();
  const store = new ResultsStore(file);
  const pretrain = { paper: "p", pretext: "side", seed: 1, steps: 10, seconds: 2.5, metrics: { heldOutAccuracy: 0.75 }, fromCache: false };
  store.appendPretrain(pretrain);
  store.appendCell(cell("ssl", 1, 1), [row("ssl", 1, 1, "a", 0.5)]);
  // Rows of an interrupted cell after the record are cut by the next append, the record stays.
  fs.appendFileSync(file, JSON.stringify({ type: "row", ...row("ssl", 2, 1, "a", 0.9) }) + "\n");
  store.appendPretrain({ ...pretrain, seed: 2, fromCache: true });
  const { pretrains, cells, rows } = store.load();
  assert.deepEqual([...pretrains.keys()], ["side|1", "side|2"]);
  assert.deepEqual(pretrains.get("side|1"), pretrain);
  assert.equal(pretrains.get("side|2")!.fromCache, true);
  assert.deepEqual([...cells.keys()], ["ssl|1|1"]);
  assert.equal(rows.length, 1);
  // A record between a cell's rows and its marker cannot come from the protocol: damage.
  const damaged = tmpFile();
  fs.writeFileSync(damaged, [{ type: "row", ...row("ssl", 1, 1, "a", 0.5) }, { type: "pretrain", ...pretrain }].map((l) => JSON.stringify(l)).join("\n") + "\n");
  assert.throws(() => new ResultsStore(damaged).load(), /:2: a pretraining record inside the rows of cell ssl\|1\|1/);
});
