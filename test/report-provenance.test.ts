// The provenance lines of a results README: wall time summed over the recorded invocations, and
// cells that no recorded invocation computed counted apart with their own times.
import assert from "node:assert/strict";
import { test } from "node:test";
import { provenanceLines, type Invocation, type RunInfo } from "../src/experiments/report.js";

const on = { gitCommit: "abc", machine: "m", backend: "wasm" };
const invocation = (started: string, finished: string, wallSeconds: number, cellsRun: number, interrupted?: boolean): Invocation => ({
  started, finished, wallSeconds, ...on, cellsRun, cellsSkipped: 0, pretrainRuns: 0, pretrainCached: 0, pretrainSeconds: 0, ...(interrupted ? { interrupted } : {}),
});
const cell = (seed: number, seconds: number, finishedAt: string) => ({ method: "scratch", budget: 1, seed, seconds, steps: 10, finishedAt });
const run = (invocations: Invocation[], cellSeconds: RunInfo["cellSeconds"]): RunInfo => ({
  paper: "p", quick: false, overrides: [], data: "d", wallSeconds: invocations.reduce((t, i) => t + i.wallSeconds, 0), invocations, regenerated: [], packages: {}, config: {}, cellSeconds,
});

test("provenance: every cell recorded gives one line with the summed wall time and the interrupted count", () => {
  const lines = provenanceLines(run([invocation("2026-01-01T10:00:00Z", "2026-01-01T10:30:00Z", 1800, 1, true), invocation("2026-01-01T11:00:00Z", "2026-01-01T11:12:00Z", 720, 1)], [cell(1, 60, "2026-01-01T10:29:00Z"), cell(2, 60, "2026-01-01T11:11:00Z")]));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^- Computed: 42\.0 min wall time over 2 invocations \(resumed\) \(1 of them interrupted; each counts to its last stored cell\), 2026-01-01 10:00 to 2026-01-01 11:12 UTC/);
});

test("provenance: cells outside every recorded invocation are counted apart with their cell times", () => {
  // Cells 1 and 2 finished before the only recorded invocation started (a killed, unrecorded run).
  const lines = provenanceLines(run([invocation("2026-01-02T09:00:00Z", "2026-01-02T09:10:00Z", 600, 1)], [cell(1, 90, "2026-01-01T10:00:00Z"), cell(2, 30, "2026-01-01T10:02:00Z"), cell(3, 60, "2026-01-02T09:09:00Z")]));
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^- Computed: 10\.0 min wall time, /);
  assert.equal(lines[1], "- 2 of 3 cells were computed by invocations that left no record in run.json (killed before the run was recorded cell by cell); their fine-tuning and scoring took 2.0 min (cell times; pretraining not included), not counted above.");
});
