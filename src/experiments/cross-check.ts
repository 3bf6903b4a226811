/**
 * Two papers that run the same method on the same splits (Zhang 2024's scratch and Bai's
 * pretext, against Bai 2019's scratch and SSL+All) must produce the same numbers, row for row:
 * a check that the shared protocol is deterministic and that nothing paper-specific leaked in.
 */
import * as fs from "node:fs";
import { ResultsStore, scoredAs, type ResultRow } from "./results.js";

export interface CrossCheck {
  mine: string;
  theirs: string;
  rows: number;
  identical: number;
}

const key = (r: ResultRow) => `${r.budget}|${r.seed}|${r.subject}|${r.phase}|${r.label}|${r.metric}`;

/** For each [my method, their method], how many of my raw rows equal theirs exactly (undefined: no store). */
export function compareWithOtherStore(rows: ResultRow[], otherStore: string, pairs: [string, string][]): CrossCheck[] | undefined {
  if (!fs.existsSync(otherStore)) return undefined;
  const theirs = scoredAs(new ResultsStore(otherStore).load(() => {}).rows, undefined);
  const mine = scoredAs(rows, undefined);
  return pairs.map(([m, t]) => {
    const values = new Map(theirs.filter((r) => r.method === t).map((r) => [key(r), r.value]));
    const own = mine.filter((r) => r.method === m);
    return { mine: m, theirs: t, rows: own.length, identical: own.filter((r) => Object.is(values.get(key(r)), r.value)).length };
  });
}
