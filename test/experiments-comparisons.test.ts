// Method-vs-baseline comparisons are made at the units that vary independently: the Wilcoxon
// test runs over test subjects on seed-averaged Dice (checked against scipy), phases are
// averaged within a subject, and the gain's CI comes from the two-level bootstrap.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareWithBaseline } from "../src/experiments/comparisons.js";
import type { ResultRow } from "../src/experiments/results.js";
import { hierarchicalBootstrap } from "../src/metrics/bootstrap.js";
import { Random } from "../src/random.js";
import { runPythonJson } from "./helpers/shared-data.js";
import { scipySkip } from "./helpers/scipy.js";

const SEEDS = [1, 2, 3];
const SUBJECTS = ["a", "b", "c", "d", "e", "f", "g", "h"];

/** Dice for (method, seed, subject, phase): a seeded table with subject and seed effects. */
function makeRows(): { rows: ResultRow[]; value: (m: string, s: number, j: number, p: number) => number } {
  const rng = new Random(42);
  const table = new Map<string, number>();
  const value = (m: string, s: number, j: number, p: number) => table.get(`${m}|${s}|${j}|${p}`)!;
  const rows: ResultRow[] = [];
  for (const m of ["scratch", "ssl"]) {
    for (const s of SEEDS) {
      for (let j = 0; j < SUBJECTS.length; j++) {
        for (const p of [0, 1]) {
          const v = 0.6 + 0.03 * j + 0.02 * s + (m === "ssl" ? 0.02 + 0.01 * ((j % 3) - 1) : 0) + rng.uniform(-0.02, 0.02) + (p ? -0.05 : 0);
          table.set(`${m}|${s}|${j}|${p}`, v);
          rows.push({ paper: "p", method: m, budget: 5, seed: s, subject: SUBJECTS[j], phase: p ? "ES" : "ED", label: "mean", metric: "dice", value: v });
          // Other labels and metrics must not leak into the comparison.
          rows.push({ paper: "p", method: m, budget: 5, seed: s, subject: SUBJECTS[j], phase: p ? "ES" : "ED", label: "LV", metric: "dice", value: 0 });
          rows.push({ paper: "p", method: m, budget: 5, seed: s, subject: SUBJECTS[j], phase: p ? "ES" : "ED", label: "mean", metric: "hd95", value: 99 });
        }
      }
    }
  }
  return { rows, value };
}

test("comparisons: n is the number of test subjects, phases are averaged, the gain is the seed x subject mean", () => {
  const { rows, value } = makeRows();
  const [c] = compareWithBaseline(rows, "scratch");
  assert.equal(c.method, "ssl");
  assert.equal(c.seeds, 3);
  assert.equal(c.subjects, 8, "subjects, not subject x seed x phase pairs");
  // Hand computation: per (seed, subject) the phase-mean difference, then the grand mean.
  const gains = SEEDS.map((s) => SUBJECTS.map((_, j) => (value("ssl", s, j, 0) + value("ssl", s, j, 1)) / 2 - (value("scratch", s, j, 0) + value("scratch", s, j, 1)) / 2));
  const grand = gains.flat().reduce((a, b) => a + b, 0) / gains.flat().length;
  assert.ok(Math.abs(c.meanGain - grand) < 1e-12);
  const boot = hierarchicalBootstrap(gains, { draws: 10000, level: 0.95, seed: 0 });
  assert.ok(Math.abs(c.ciLow - boot.low) < 1e-12 && Math.abs(c.ciHigh - boot.high) < 1e-12, "the CI is the two-level bootstrap of the gains");
  assert.ok(c.ciLow < c.meanGain && c.meanGain < c.ciHigh);
});

test("comparisons: the subject-level Wilcoxon p matches scipy on seed-averaged Dice", { skip: scipySkip() }, () => {
  const { rows, value } = makeRows();
  const [c] = compareWithBaseline(rows, "scratch");
  const avg = (m: string, j: number) => SEEDS.reduce((t, s) => t + (value(m, s, j, 0) + value(m, s, j, 1)) / 2, 0) / SEEDS.length;
  const x = SUBJECTS.map((_, j) => avg("ssl", j));
  const y = SUBJECTS.map((_, j) => avg("scratch", j));
  const ref = runPythonJson<{ p: number; stat: number }>(
    "import json,sys; from scipy import stats; d=json.load(sys.stdin); r=stats.wilcoxon(d['x'], d['y']); print(json.dumps({'p': float(r.pvalue), 'stat': float(r.statistic)}))",
    [],
    { input: JSON.stringify({ x, y }) },
  );
  assert.ok(Math.abs(c.pValue - ref.p) < 1e-9, `p ${c.pValue} vs scipy ${ref.p}`);
  assert.equal(c.statistic, ref.stat);
});

test("comparisons: repeating the same seed's results adds no evidence to the subject-level test", () => {
  const { rows } = makeRows();
  const one = rows.filter((r) => r.seed === 1);
  const copies = [1, 2, 3, 4, 5].flatMap((s) => one.map((r) => ({ ...r, seed: s })));
  const [a] = compareWithBaseline(one, "scratch");
  const [b] = compareWithBaseline(copies, "scratch");
  assert.equal(b.subjects, a.subjects);
  assert.ok(Math.abs(a.pValue - b.pValue) < 1e-12, "pseudo-replicated seeds do not shrink the p value");
});
