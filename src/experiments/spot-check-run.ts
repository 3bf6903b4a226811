/**
 * `anatomy-ssl spot-check PAPER|all`: for each paper, train the spot check's cells on this
 * machine (reproduce with `spotCheck`), write their report into results/<paper>-spot-check/,
 * then compare them with the committed run (spot-check.ts) into spot-check.md there, and print
 * the comparison. Rerunning resumes; --fresh starts the folders over.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../provenance.js";
import { formatDuration } from "../train/progress.js";
import { chromiumPath } from "./figures.js";
import { findPaper } from "./registry.js";
import { reproduce, resolveConfig } from "./reproduce.js";
import { ResultsStore } from "./results.js";
import { compareSpotCheck, spotCheckMarkdown, spotCheckOf, spotCheckVerdict } from "./spot-check.js";

const htmlToPngMissing = "no Chromium found: `npm run setup` installs Debian's chromium";

export interface SpotCheckRun {
  paper: string;
  outDir: string;
  cellsRun: number;
  seconds: number;
  verdict: string;
  /** A key cell or gain lies outside the committed CI: this machine does not reproduce it. */
  differs: boolean;
}

export interface SpotCheckOptions {
  fresh?: boolean;
  /** --set overrides on top of the spot check's configuration (e.g. a tiny test scale). */
  overrides?: string[];
  /** One paper only: its spot-check folder, and the run to compare with (default results/PAPER). */
  outDir?: string;
  against?: string;
  log?: (line: string) => void;
}

export async function runSpotChecks(paperNames: string[], options: SpotCheckOptions = {}): Promise<SpotCheckRun[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const runs: SpotCheckRun[] = [];
  for (const [i, name] of paperNames.entries()) {
    const paper = findPaper(name);
    const s = spotCheckOf(paper);
    log(`\n== spot check ${i + 1}/${paperNames.length}: ${paper.title}`);
    log(`   training ${s.methods.join(" and ")} at ${s.budget} labelled, seed ${paper.full.seeds[0]} (the full configuration otherwise${options.overrides?.length ? `, with ${options.overrides.join(" ")}` : ""}), with its own pretraining`);
    const started = performance.now();
    const { outDir, cellsRun } = await reproduce(name, { spotCheck: true, fresh: options.fresh, overrides: options.overrides, outDir: options.outDir });
    const seconds = (performance.now() - started) / 1000;
    const { rows } = new ResultsStore(path.join(outDir, "rows.jsonl")).load();
    const config = resolveConfig(paper, { spotCheck: true, overrides: options.overrides });
    const result = compareSpotCheck(paper, config, rows, path.resolve(options.against ?? path.join(projectRoot(), "results", name)));
    const markdown = spotCheckMarkdown(paper, result);
    fs.writeFileSync(path.join(outDir, "spot-check.md"), markdown.join("\n"));
    log(`   ${cellsRun > 0 ? `trained ${cellsRun} cells` : "every cell was already computed here (use --fresh to retrain)"} in ${formatDuration(seconds)}; results in ${path.relative(process.cwd(), outDir)}/\n`);
    if (!fs.existsSync(path.join(outDir, "dice-vs-budget.png"))) log(`   no PNG figures (HTML only): ${chromiumPath() ? "Chromium failed; see the README there" : htmlToPngMissing}`);
    log(markdown.slice(2).join("\n"));
    runs.push({ paper: name, outDir, cellsRun, seconds, verdict: spotCheckVerdict(result), differs: result.cells.some((c) => c.within === false) || result.gains.some((g) => g.within === false) });
  }
  return runs;
}
