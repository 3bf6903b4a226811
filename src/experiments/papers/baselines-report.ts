/**
 * The report of a generic-baseline run (papers/baselines-*.ts): its own cells as a table. The
 * comparison with scratch and with the anatomy-aware pretexts needs the host paper's rows too,
 * so it lives in results/leaderboard (experiments/leaderboard.ts), not here.
 */
import type { Method, ProtocolConfig } from "../protocol.js";
import { notebookLines, provenanceLines, reportWriter, trainingSection, type ReportInput } from "../report.js";
import { scoredAs } from "../results.js";
import { markdownTable, perSeedCsv, summariesCsv, summarizeCells } from "../tables.js";

export function writeBaselinesReport(input: ReportInput<ProtocolConfig, unknown>, info: { title: string; host: string; methods: readonly Method[]; labels: string[]; mainLabel: string }): string[] {
  const { outDir, config, cells, rows } = input;
  const { write, written } = reportWriter(outDir);
  const raw = scoredAs(rows, undefined);
  const summaries = summarizeCells(raw);
  write("table.md", markdownTable(summaries, config.methods, info.labels, info.mainLabel) + "\n");
  write("summary.csv", summariesCsv(summaries));
  write("per-seed.csv", perSeedCsv(raw, info.labels));
  const lines = [`# ${info.title}${input.titleNote ?? ""}`, "", ...notebookLines(input), ""];
  lines.push(`Written by \`${input.command}\`; do not edit by hand.`, "");
  lines.push(
    `Generic (anatomy-agnostic) pretexts pretrained on the unlabelled non-test images of ${info.host}, then fine-tuned exactly as that paper fine-tunes its own pretext, on its splits, label budgets and seeds. Scratch and the anatomy-aware pretexts are in ${info.host}'s own results; the comparison of all of them, with CIs, ranks and pretraining cost, is in [results/leaderboard](../leaderboard/README.md).`,
    "",
  );
  lines.push("## Dice (mean ± sd over seeds)", "", markdownTable(summaries, config.methods, info.labels, info.mainLabel), "");
  lines.push(...trainingSection(cells, config, info.methods));
  lines.push("## How this was made", "", ...provenanceLines(input.runInfo), "");
  write("README.md", lines.join("\n"));
  return written;
}
