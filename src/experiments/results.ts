/**
 * The results store: one JSONL file per paper. Each finished protocol cell (method x label budget
 * x seed) is appended in a single write: its per-subject metric rows, then a "cell" record that
 * marks it complete. A rerun skips complete cells, so an interrupted run resumes where it stopped
 * and ends with the same table as an uninterrupted one. Rows of a cell whose marker never made it
 * to disk (the run was killed mid-write) are reported and dropped, never silently mixed in.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** One metric value: the unit of every table and figure. */
export interface ResultRow {
  paper: string;
  method: string;
  budget: number;
  seed: number;
  subject: string;
  phase: string;
  /** "LV", "MYO", "RV", or "mean". */
  label: string;
  metric: "dice" | "hd95" | "assd";
  value: number;
  /**
   * Post-processing applied to the prediction before scoring; absent: the network's argmax as
   * is. A paper that scores both ways (Zhang 2024: largest connected component) stores both, and
   * tables take one at a time (`scoredAs`), never a mix.
   */
  postprocess?: "largest-component";
}

/** Marks a cell complete and records how it was made. */
export interface CellRecord {
  paper: string;
  method: string;
  budget: number;
  seed: number;
  /** The seed of the pretraining run this cell started from (methods that transfer weights). */
  pretrainSeed?: number;
  /** Labelled training subjects used (ids), so the draw can be audited. */
  trainSubjects: string[];
  /** Steps trained; the step whose weights were kept (best validation score); early stop. */
  steps: number;
  bestStep?: number;
  stoppedEarly?: boolean;
  /** Training loss (averaged per validation interval) and validation score by step. */
  curve?: { loss: { step: number; loss: number }[]; validation: { step: number; score: number }[] };
  seconds: number;
  finishedAt: string;
  /** Where the cell was computed (a regenerated report must not claim it was computed there). */
  computedOn?: { machine: string; backend: string; gitCommit: string };
  /** One predicted test slice (base64 of size*size label bytes), for the example figure. */
  example?: { subject: string; phase: string; slice: number; size: number; labels: string };
}

/**
 * One pretraining run that cells started from: its cost (a leaderboard compares pretexts by it)
 * and what the pretext measured after training (e.g. same-side accuracy on held-out subjects).
 * Recorded once per (pretext, seed); a run whose weights came from the cache records the
 * numbers stored with them, and says so.
 */
export interface PretrainRecord {
  paper: string;
  pretext: string;
  seed: number;
  steps: number;
  seconds: number;
  finalLoss?: number;
  metrics?: Record<string, number>;
  /** The weights were loaded from the cache (made by an earlier run, maybe of another paper). */
  fromCache: boolean;
  computedOn?: { machine: string; backend: string; gitCommit: string };
}

type Line = ({ type: "row" } & ResultRow) | ({ type: "cell" } & CellRecord) | ({ type: "pretrain" } & PretrainRecord);

export const pretrainKey = (p: { pretext: string; seed: number }) => `${p.pretext}|${p.seed}`;

/** The rows scored with one post-processing (undefined: the raw prediction). */
export function scoredAs(rows: ResultRow[], postprocess: ResultRow["postprocess"]): ResultRow[] {
  return rows.filter((r) => r.postprocess === postprocess);
}

/** Tables and tests average rows: refuse rows scored in more than one way (they would be mixed). */
export function assertOneScoring(rows: ResultRow[], where: string): void {
  const kinds = new Set(rows.map((r) => r.postprocess ?? "none"));
  if (kinds.size > 1) throw new Error(`${where}: rows scored with different post-processing (${[...kinds].join(", ")}); pick one with scoredAs()`);
}

export const cellKey = (c: { method: string; budget: number; seed: number }) => `${c.method}|${c.budget}|${c.seed}`;

export class ResultsStore {
  constructor(readonly file: string) {}

  /** Complete cells and their rows; incomplete trailing data is reported via `warn` and ignored. */
  load(warn: (message: string) => void = (m) => console.error(m)): { cells: Map<string, CellRecord>; rows: ResultRow[]; pretrains: Map<string, PretrainRecord> } {
    const cells = new Map<string, CellRecord>();
    const rows: ResultRow[] = [];
    const pretrains = new Map<string, PretrainRecord>();
    if (!fs.existsSync(this.file)) return { cells, rows, pretrains };
    const text = fs.readFileSync(this.file, "utf8");
    const lines = text.split("\n");
    if (lines[lines.length - 1] !== "") warn(`${this.file}: last line is incomplete (interrupted write); it will be recomputed`);
    let pending: ResultRow[] = [];
    lines.slice(0, -1).forEach((raw, i) => {
      if (raw.trim() === "") return;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        throw new Error(`${this.file}:${i + 1}: not valid JSON; the results file is damaged (delete it to start over)`);
      }
      if (line.type === "row") pending.push(stripType(line));
      else if (line.type === "cell") {
        const cell = stripType(line);
        const mismatched = pending.filter((r) => cellKey(r) !== cellKey(cell));
        if (mismatched.length > 0) throw new Error(`${this.file}:${i + 1}: rows of cell ${cellKey(mismatched[0])} precede the marker of ${cellKey(cell)}; the file is damaged`);
        // Its rows would count twice in every table. Only two processes appending to one store
        // at once (or a hand edit) write a cell twice.
        if (cells.has(cellKey(cell))) throw new Error(`${this.file}:${i + 1}: cell ${cellKey(cell)} is stored twice (did two processes append to this store at once?); the file is damaged: keep one copy of the cell and its rows`);
        cells.set(cellKey(cell), cell);
        rows.push(...pending);
        pending = [];
      } else if (line.type === "pretrain") {
        // Written between cells only: rows waiting for their cell marker here mean damage.
        if (pending.length > 0) throw new Error(`${this.file}:${i + 1}: a pretraining record inside the rows of cell ${cellKey(pending[0])}; the file is damaged`);
        const record = stripType(line);
        pretrains.set(pretrainKey(record), record);
      } else throw new Error(`${this.file}:${i + 1}: unknown record type`);
    });
    if (pending.length > 0) warn(`${this.file}: ${pending.length} rows of an unfinished cell (${cellKey(pending[0])}) ignored; it will be recomputed`);
    return { cells, rows, pretrains };
  }

  /** Append one complete cell: rows then marker, in one write. */
  appendCell(cell: CellRecord, rows: ResultRow[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    for (const r of rows) if (cellKey(r) !== cellKey(cell)) throw new Error(`appendCell: row of ${cellKey(r)} in cell ${cellKey(cell)}`);
    const text = [...rows.map((r) => ({ type: "row", ...r })), { type: "cell", ...cell }].map((l) => JSON.stringify(l)).join("\n") + "\n";
    this.repairTail();
    fs.appendFileSync(this.file, text);
  }

  /** Append one pretraining record (a complete line on its own). */
  appendPretrain(record: PretrainRecord): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.repairTail();
    fs.appendFileSync(this.file, JSON.stringify({ type: "pretrain", ...record }) + "\n");
  }

  /**
   * Cut the file back to the end of its last complete record (a cell marker or a pretraining
   * record): rows of an interrupted cell (and a torn last line) must not be merged into the cell
   * when it is recomputed and appended again.
   */
  private repairTail(): void {
    if (!fs.existsSync(this.file)) return;
    const text = fs.readFileSync(this.file, "utf8");
    let end = 0;
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      if (text.startsWith('{"type":"cell"', start) || text.startsWith('{"type":"pretrain"', start)) end = nl + 1;
      start = nl + 1;
    }
    if (end !== text.length) fs.writeFileSync(this.file, text.slice(0, end));
  }
}

function stripType<T extends { type: string }>(line: T): Omit<T, "type"> {
  const { type: _type, ...rest } = line;
  return rest;
}
