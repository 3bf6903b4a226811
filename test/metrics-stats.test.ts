import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { mean, normalSf, regularizedIncompleteBeta, sampleSd, studentTCdf, summarize, tQuantile, wilcoxonSignedRank, type WilcoxonOptions } from "../src/metrics/index.js";
import { Random } from "../src/random.js";
import { PYTHON, scipySkip } from "./helpers/scipy.js";

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300), `${what}: ${actual} vs ${expected}`);
}

test("t quantiles match the printed table t(0.975, df) to its 3 decimals", () => {
  const table: [number, number][] = [[1, 12.706], [2, 4.303], [4, 2.776], [9, 2.262], [29, 2.045]];
  for (const [df, t] of table) assert.ok(Math.abs(tQuantile(0.975, df) - t) < 5e-4, `df ${df}: ${tQuantile(0.975, df)}`);
});

test("t quantiles match closed forms for df = 1 (Cauchy) and df = 2, and invert the CDF", () => {
  for (const p of [0.5, 0.6, 0.9, 0.975, 0.995, 0.9999, 0.01]) {
    close(tQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-12, `df 1 p ${p}`);
    close(tQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-12, `df 2 p ${p}`);
    for (const df of [1, 3, 7.5, 40, 1000]) close(studentTCdf(tQuantile(p, df), df), p, 1e-12, `cdf(ppf) df ${df} p ${p}`);
  }
  assert.equal(tQuantile(0.5, 5), 0);
  close(tQuantile(0.025, 9), -tQuantile(0.975, 9), 1e-15, "symmetry");
});

test("t quantiles match 40-digit values (mpmath: root of the regularized incomplete beta)", () => {
  const exact: [number, number, number][] = [
    [0.975, 1, 12.706204736174693314],
    [0.975, 2, 4.3026527297494617894],
    [0.975, 4, 2.7764451051977934898],
    [0.975, 9, 2.2621571627982049992],
    [0.975, 29, 2.0452296421327038745],
    [0.995, 3.5, 5.0857022230912570118],
    [0.9, 100, 1.2900747613465160976],
    [0.025, 12, -2.1788128296672288353],
    [0.9995, 1, 636.61924876878972983],
  ];
  for (const [p, df, t] of exact) close(tQuantile(p, df), t, 1e-12, `t(${p}, ${df})`);
});

test("special functions at known values", () => {
  close(normalSf(0), 0.5, 1e-15, "sf(0)");
  close(normalSf(1.959963984540054), 0.025, 1e-13, "sf(1.96)");
  close(normalSf(1), 0.15865525393145707, 1e-13, "sf(1)");
  close(normalSf(-1), 0.8413447460685429, 1e-13, "sf(-1)");
  close(normalSf(8), 6.220960574271785e-16, 1e-10, "sf(8), far tail"); // no 1 - cdf cancellation
  close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-14, "I(1,1) is uniform");
  close(regularizedIncompleteBeta(0.3, 2.5, 1), 0.3 ** 2.5, 1e-13, "I(a,1) = x^a");
  close(regularizedIncompleteBeta(0.5, 3, 3), 0.5, 1e-14, "symmetric");
});

test("mean, sample SD and the 95% t interval; undefined (NaN/Infinity) values excluded and counted", () => {
  assert.equal(mean([1, 2, 3, 4, 5]), 3);
  close(sampleSd([1, 2, 3, 4, 5]), Math.sqrt(2.5), 1e-15, "sd");
  const s = summarize([1, 2, NaN, 3, 4, 5, Infinity]);
  assert.equal(s.n, 5);
  assert.equal(s.excluded, 2);
  assert.equal(s.mean, 3);
  // t(0.975, 4) = 2.7764451051977987 (scipy.stats.t.ppf); sd / sqrt(n) = sqrt(2.5 / 5).
  close(s.halfWidth, 2.7764451051977987 * Math.sqrt(0.5), 1e-12, "half width");
  close(s.ciLow, 3 - s.halfWidth, 1e-15, "low");
  // One value: mean defined, SD and CI not. None: all NaN.
  const one = summarize([0.8, NaN]);
  assert.equal(one.mean, 0.8);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.halfWidth));
  assert.ok(Number.isNaN(summarize([]).mean));
});

test("Wilcoxon exact p-values by hand", () => {
  const zeros = (n: number) => new Array<number>(n).fill(0);
  // All n differences positive: R+ takes its maximum, which 1 of the 2^n sign patterns reaches;
  // two-sided p = 2 / 2^n.
  const five = wilcoxonSignedRank([1, 2, 3, 4, 5], zeros(5));
  assert.deepEqual([five.pValue, five.statistic, five.rPlus, five.method], [0.0625, 0, 15, "exact"]);
  assert.equal(wilcoxonSignedRank([0.5, 0.1, 0.3, 0.2, 0.7, 0.9], zeros(6)).pValue, 0.03125);
  // n = 5, the smallest |d| negative: R- = 1; patterns with R- <= 1 are {} and {1}: p = 2 * 2 / 32.
  assert.equal(wilcoxonSignedRank([-1, 2, 3, 4, 5], zeros(5)).pValue, 0.125);
  // n = 4, d = 1, 2, 3, -4: R+ = 6. Subsets of {1..4} by sum 0..10: 1 1 1 2 2 2 2 2 1 1 1 (of 16).
  // P(R+ >= 6) = 7/16 < P(R+ <= 6) = 11/16, so p = 14/16.
  assert.equal(wilcoxonSignedRank([1, 2, 3, -4], zeros(4)).pValue, 0.875);
  // Centre of the distribution: p = 1.
  assert.equal(wilcoxonSignedRank([1, 2, -3], zeros(3)).pValue, 1);
});

test("Wilcoxon conventions: zeros dropped (zero_method 'wilcox'), ties or zeros -> normal approximation, NaN pairs dropped", () => {
  const r = wilcoxonSignedRank([1, 2, 3, 4, 5, 6, 7], [1, 0, 0, 0, 0, 0, NaN]);
  assert.equal(r.zeros, 1);
  assert.equal(r.dropped, 1);
  assert.equal(r.n, 5);
  assert.equal(r.method, "approx");
  const tied = wilcoxonSignedRank([1, 1, 2, 3], [0, 0, 0, 0]);
  assert.equal(tied.method, "approx");
  assert.deepEqual([tied.rPlus, tied.rMinus], [10, 0]);
  assert.throws(() => wilcoxonSignedRank([1, 1, 2], [0, 0, 0], { method: "exact" }), /distinct/);
  const same = wilcoxonSignedRank([1, 2], [1, 2]);
  assert.ok(Number.isNaN(same.pValue), "all differences zero: the test is undefined");
  // Larger than 25 without ties: approximation.
  const big = wilcoxonSignedRank(Array.from({ length: 30 }, (_, i) => i + 1), new Array<number>(30).fill(0));
  assert.equal(big.method, "approx");
  // By hand: T = 0, mean 232.5, variance 30*31*61/24, continuity correction +0.5.
  close(big.z, (0 - 232.5 + 0.5) / Math.sqrt((30 * 31 * 61) / 24), 1e-15, "z");
});

// ----- Cross-check with SciPy

const SCIPY_SCRIPT = String.raw`
import json, sys, warnings
warnings.simplefilter("ignore")
from scipy import stats
q = json.load(sys.stdin)
w = [stats.wilcoxon(c["x"], c["y"], zero_method="wilcox", correction=c["correction"], method=c["method"]) for c in q["wilcoxon"]]
t = [float(stats.t.ppf(p, df)) for p, df in q["t"]]
json.dump({"wilcoxon": [[float(r.statistic), float(r.pvalue)] for r in w], "t": t}, sys.stdout)
`;


test("cross-check with scipy.stats.wilcoxon and scipy.stats.t.ppf", (t) => {
  const missing = scipySkip("scipy.stats");
  if (missing) {
    t.skip(missing);
    return;
  }
  const rng = new Random(11);
  const dice = (n: number, shift: number) => Array.from({ length: n }, () => Math.round(1000 * Math.min(1, rng.uniform(0.75, 0.95) + shift)) / 1000);
  const datasets: { name: string; x: number[]; y: number[]; options?: WilcoxonOptions }[] = [];
  // Exact: no ties, no zeros (values from a continuous draw).
  datasets.push({ name: "n 10 exact", x: Array.from({ length: 10 }, () => rng.normal(0.3, 1)), y: new Array(10).fill(0) });
  datasets.push({ name: "n 20 exact", x: Array.from({ length: 20 }, () => rng.normal(0.85, 0.05)), y: Array.from({ length: 20 }, () => rng.normal(0.83, 0.05)) });
  datasets.push({ name: "n 25 exact", x: Array.from({ length: 25 }, () => rng.normal(0, 1)), y: new Array(25).fill(0.1) });
  // Approximation: Dice rounded to 3 decimals gives ties and zero differences.
  for (const n of [8, 12, 15, 40]) {
    const y = dice(n, 0);
    const x = y.map((v) => Math.round(1000 * Math.min(1, v + rng.int(-2, 4) / 100)) / 1000);
    datasets.push({ name: `n ${n} ties/zeros`, x, y });
    datasets.push({ name: `n ${n} ties/zeros no correction`, x, y, options: { correction: false } });
  }
  datasets.push({ name: "n 30 no ties", x: Array.from({ length: 30 }, () => rng.normal(0.2, 1)), y: new Array(30).fill(0) });
  datasets.push({ name: "n 40 forced exact", x: Array.from({ length: 40 }, () => rng.normal(0.3, 1)), y: new Array(40).fill(0), options: { method: "exact" } });
  datasets.push({ name: "n 6 forced approx", x: [1, 2, 3, 4, 5, 6], y: [0, 0, 0, 0, 0, 0], options: { method: "approx" } });
  // The subject-level test of src/metrics/bootstrap.ts: each subject's Dice (3 decimals) averaged
  // over 5 seeds per method, n = 20 subjects. Subjects scored the same by both methods give exact
  // zero differences; gains on a 0.002 grid give tied |d|.
  const seedAveraged = { x: [] as number[], y: [] as number[] };
  for (let j = 0; j < 20; j++) {
    const base = Array.from({ length: 5 }, () => Math.round(1000 * rng.uniform(0.78, 0.92)) / 1000);
    const gain = j % 6 === 0 ? base : base.map((v) => Math.round(1000 * (v + rng.int(-1, 2) / 100)) / 1000);
    seedAveraged.x.push(mean(gain));
    seedAveraged.y.push(mean(base));
  }
  const absD = seedAveraged.x.map((v, i) => Math.abs(v - seedAveraged.y[i])).filter((v) => v !== 0);
  assert.ok(absD.length < 20 && new Set(absD).size < absD.length, "the seed-averaged case has zeros and ties");
  datasets.push({ name: "n 20 seed-averaged ties/zeros", ...seedAveraged });
  datasets.push({ name: "n 20 seed-averaged ties/zeros no correction", ...seedAveraged, options: { correction: false } });

  const ours = datasets.map((d) => wilcoxonSignedRank(d.x, d.y, d.options));
  const tCases: [number, number][] = [[0.975, 1], [0.975, 2], [0.975, 4], [0.975, 9], [0.975, 29], [0.995, 3.5], [0.9, 100], [0.025, 12], [0.9995, 1]];
  const input = JSON.stringify({
    wilcoxon: datasets.map((d, i) => ({ x: d.x, y: d.y, correction: d.options?.correction ?? true, method: ours[i].method })),
    t: tCases,
  });
  const py = spawnSync(PYTHON, ["-c", SCIPY_SCRIPT], { input, encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  const expected: { wilcoxon: [number, number][]; t: number[] } = JSON.parse(py.stdout);
  datasets.forEach((d, i) => {
    const [statistic, p] = expected.wilcoxon[i];
    assert.equal(ours[i].statistic, statistic, `${d.name}: statistic`);
    close(ours[i].pValue, p, 1e-11, `${d.name} (${ours[i].method}): p`);
  });
  assert.deepEqual(ours.map((r) => r.method).slice(0, 3), ["exact", "exact", "exact"]);
  assert.ok(ours.slice(3, 11).every((r) => r.method === "approx"), "rounded Dice has ties or zeros");
  assert.ok(ours.slice(-2).every((r) => r.method === "approx" && r.zeros > 0 && r.n <= 20), "seed-averaged case: approximation, zeros dropped");
  // SciPy 1.10's t.ppf is itself only good to ~1e-9 relative (t.ppf(0.9995, 1) is 1e-9 off
  // tan(0.9995 pi - pi/2)), so this tolerance is looser; the 40-digit test above is the precise one.
  tCases.forEach(([p, df], i) => close(tQuantile(p, df), expected.t[i], 1e-8, `t.ppf(${p}, ${df})`));
});
