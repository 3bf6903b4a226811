/**
 * Splitting a paper's grid into shards that run as separate processes (Slurm array tasks), and
 * where each writes.
 *
 * - The grid's cells have one canonical order: seed, then budget, then method, each as the
 *   configuration lists them. It is the order a single-process `reproduce` computes and stores
 *   them in, so a store merged in this order holds its rows in the same order as a
 *   single-process store (tables average rows in store order: another order can change the last
 *   digit of a mean).
 * - Cell k (0-based, canonical order) belongs to shard k mod n. Round-robin rather than blocks: a
 *   seed's cells (which share its pretraining) and the large budgets (slow cells) spread over
 *   every shard, so the shards take about as long as each other.
 * - Each shard writes its own store, `<paper folder>/shards/<i>-of-<n>/`, and the pretraining job
 *   its records to `<paper folder>/shards/pretraining/`: no two processes ever append to one file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ProtocolConfig } from "./protocol.js";
import { cellKey } from "./results.js";

export interface Shard {
  index: number;
  count: number;
}

export interface GridCell {
  seed: number;
  budget: number;
  method: string;
}

/** "i/n" (i in 0..n-1) from the command line. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new Error(`--shard ${text}: expected i/n, e.g. --shard 0/8 (shard i of n, i from 0 to n-1)`);
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (count < 1) throw new Error(`--shard ${text}: the number of shards must be at least 1`);
  if (index >= count) throw new Error(`--shard ${text}: shard index ${index} is not below the number of shards ${count} (shards are numbered 0 to ${count - 1})`);
  return { index, count };
}

export const shardText = (s: Shard) => `${s.index}/${s.count}`;

/** Every cell of the grid, in the canonical order. */
export function gridCells(config: Pick<ProtocolConfig, "seeds" | "budgets" | "methods">): GridCell[] {
  return config.seeds.flatMap((seed) => config.budgets.flatMap((budget) => config.methods.map((method) => ({ seed, budget, method }))));
}

/** The shard index that owns cell `k` of the canonical order. */
export const shardOfCell = (k: number, count: number) => k % count;

/** The cellKeys of one shard's cells. */
export function shardCellKeys(config: Pick<ProtocolConfig, "seeds" | "budgets" | "methods">, shard: Shard): Set<string> {
  return new Set(gridCells(config).filter((_, k) => shardOfCell(k, shard.count) === shard.index).map(cellKey));
}

/** The folder of all shard stores of a paper's results folder. */
export const shardsDir = (outDir: string) => path.join(outDir, "shards");

/** One shard's store folder (rows.jsonl, config.json, run.json). */
export const shardDir = (outDir: string, shard: Shard) => path.join(shardsDir(outDir), `${shard.index}-of-${shard.count}`);

/** The pretraining job's folder: its pretraining records, config.json and run.json. */
export const pretrainingDir = (outDir: string) => path.join(shardsDir(outDir), "pretraining");

/** The shard a folder name under shards/ stands for ("2-of-8"), or undefined. */
export function shardOfFolder(name: string): Shard | undefined {
  const m = /^(\d+)-of-(\d+)$/.exec(name);
  if (!m) return undefined;
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  return shard.count >= 1 && shard.index < shard.count ? shard : undefined;
}

/** The stores a sharded run left under a paper's folder. */
export interface ShardStores {
  /** The pretraining job's folder, when it exists. */
  pretraining?: string;
  /** Each shard's folder, by shard index within each shard count. */
  shards: { shard: Shard; dir: string }[];
}

/**
 * The stores under `<outDir>/shards/`. A folder there that is neither a shard ("i-of-n") nor
 * the pretraining job's is an error, not ignored: it may hold cells.
 */
export function listShardStores(outDir: string): ShardStores {
  const dir = shardsDir(outDir);
  const found: ShardStores = { shards: [] };
  if (!fs.existsSync(dir)) return found;
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (!fs.statSync(full).isDirectory()) continue;
    const shard = shardOfFolder(name);
    if (shard) found.shards.push({ shard, dir: full });
    else if (full === pretrainingDir(outDir)) found.pretraining = full;
    else throw new Error(`${full}: not a shard store (named i-of-n, e.g. 0-of-8) nor the pretraining job's folder (pretraining); move it out of ${dir}`);
  }
  found.shards.sort((a, b) => a.shard.count - b.shard.count || a.shard.index - b.shard.index);
  return found;
}
