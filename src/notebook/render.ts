/**
 * `anatomy-ssl notebooks render`: execute notebooks through real Jupyter (execute.ts) and export
 * each to one self-contained HTML file under results/notebooks/, for readers who do not run
 * anything (a code host, a course handout).
 *
 * - Self-contained: plotly.js is inlined once per file by the first figure (plotly.ts); the
 *   script tags Debian's nbconvert adds for require.js and MathJax point at file:///usr/share,
 *   which no reader has, and the notebooks use neither, so they are removed.
 * - Provenance: a first cell says how, where and with what code the page was made; render.json
 *   keeps the same per notebook. The source notebooks stay output-free.
 * - No real data: the notebooks show the real samples of ../shared/data when they find them, but
 *   those are licensed datasets that must never be copied into the project, and a rendered page
 *   embeds every pixel it shows. Rendering points ANATOMY_SSL_DATA at an empty folder, so every
 *   page shows the library's synthetic data; run a notebook live to see the real samples.
 * - A notebook whose cell fails is not rendered; the command renders the others, then fails
 *   naming each failure (nothing is skipped silently).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeBackend, initBackend } from "../backend/index.js";
import { gitCommit, machineLabel, projectRoot } from "../provenance.js";
import { executeNotebook, failureMessage, jupyterPython, missingPrerequisites } from "./execute.js";
import type { NotebookMode } from "./mode.js";

/** Adds the provenance cell, converts to HTML with nbconvert's lab template, drops file:// scripts. */
const EXPORTER = String.raw`
import re, sys
import nbformat
from nbconvert import HTMLExporter

src, out, note = sys.argv[1:]
nb = nbformat.read(src, as_version=4)
nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
body = re.sub(r'<script[^>]*src="file://[^"]*"[^>]*>\s*</script>', "", body)
with open(out, "w", encoding="utf-8") as f:
    f.write(body)
`;

export interface RenderedNotebook {
  notebook: string;
  html: string;
  mode: NotebookMode;
  seconds: number;
  renderedAt: string;
  gitCommit: string;
  machine: string;
  backend: string;
}

export interface RenderOptions {
  /** Notebook file names (e.g. "00-tour.ipynb") or stems; default every notebooks/*.ipynb. */
  names?: string[];
  mode?: NotebookMode;
  outDir?: string;
  /** Seconds allowed per cell (full mode pretrains live in some notebooks). */
  cellTimeout?: number;
  log?: (line: string) => void;
}

export function notebookFiles(names?: string[]): string[] {
  const dir = path.join(projectRoot(), "notebooks");
  const all = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort();
  if (!names || names.length === 0) return all.map((f) => path.join(dir, f));
  return names.map((n) => {
    const hit = all.find((f) => f === n || f === `${n}.ipynb` || f.startsWith(`${n}-`));
    if (!hit) throw new Error(`notebooks render: no notebook '${n}' in ${dir} (have ${all.join(", ")})`);
    return path.join(dir, hit);
  });
}

/** Render the notebooks to HTML; returns what was written. Throws after rendering the rest if any failed. */
export async function renderNotebooks(options: RenderOptions = {}): Promise<RenderedNotebook[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const missing = missingPrerequisites();
  if (missing) throw new Error(`notebooks render: ${missing}`);
  const mode = options.mode ?? "full";
  const outDir = path.resolve(options.outDir ?? path.join(projectRoot(), "results", "notebooks"));
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-render-"));
  const noData = path.join(work, "no-real-data");
  fs.mkdirSync(noData);
  const commit = gitCommit();
  const machine = machineLabel();
  const backend = describeBackend(await initBackend({ quiet: true }));
  const rendered: RenderedNotebook[] = [];
  const failures: string[] = [];
  try {
    for (const file of notebookFiles(options.names)) {
      const name = path.basename(file, ".ipynb");
      log(`notebooks render: ${name} (${mode} mode)...`);
      const { result, executed, stderr } = await executeNotebook(file, { outDir: work, mode, cellTimeout: options.cellTimeout ?? 3600, env: { ANATOMY_SSL_DATA: noData } });
      if (!result.ok) {
        failures.push(failureMessage(path.relative(projectRoot(), file), result, executed, stderr));
        log(`notebooks render: ${name} FAILED (cell ${result.failure?.index ?? "?"}); continuing with the others`);
        continue;
      }
      const html = path.join(outDir, `${name}.html`);
      const renderedAt = new Date().toISOString();
      const note = [
        `*Rendered by \`anatomy-ssl notebooks render\` in ${mode} mode on ${renderedAt.slice(0, 16).replace("T", " ")} UTC:`,
        `git ${commit}, ${machine}, ${backend}; ${result.total.toFixed(0)} s to execute; synthetic data only (the real samples are never copied into a page).`,
        `Source: [notebooks/${name}.ipynb](../../notebooks/${name}.ipynb) (run it yourself with \`npm run lab\`).*`,
      ].join(" ");
      execFileSync(jupyterPython(), ["-c", EXPORTER, executed, html, note], { stdio: ["ignore", "ignore", "pipe"] });
      rendered.push({ notebook: `notebooks/${name}.ipynb`, html: path.basename(html), mode, seconds: result.total, renderedAt, gitCommit: commit, machine, backend });
      log(`notebooks render: wrote ${path.relative(process.cwd(), html)} (${result.total.toFixed(0)} s)`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (rendered.length > 0) writeIndex(outDir, rendered);
  if (failures.length > 0) throw new Error(`notebooks render: ${failures.length} notebook(s) failed and were not rendered:\n\n${failures.join("\n\n")}`);
  return rendered;
}

/** render.json (kept across partial renders: one entry per notebook) and a README index. */
function writeIndex(outDir: string, fresh: RenderedNotebook[]): void {
  const file = path.join(outDir, "render.json");
  const before = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as RenderedNotebook[]) : [];
  const all = [...before.filter((b) => !fresh.some((f) => f.notebook === b.notebook)), ...fresh].sort((a, b) => a.notebook.localeCompare(b.notebook));
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
  const lines = [
    "# Rendered notebooks",
    "",
    "Each notebook executed by `anatomy-ssl notebooks render` (also run by `anatomy-ssl reproduce all`) and exported to one HTML file that opens offline: plotly.js is embedded once per file. The source notebooks in notebooks/ carry no outputs; open them live with `npm run lab`. The pages show the library's synthetic data only: where a notebook would show a real sample from ../shared/data, the page shows its synthetic fallback, because a page embeds every pixel it shows and the licensed datasets are never copied into the project.",
    "",
    "| notebook | page | mode | seconds to execute | rendered (UTC) | git |",
    "| --- | --- | --- | --- | --- | --- |",
    ...all.map((r) => `| ${r.notebook} | [${path.basename(r.html)}](${path.basename(r.html)}) | ${r.mode} | ${r.seconds.toFixed(0)} | ${r.renderedAt.slice(0, 16).replace("T", " ")} | ${r.gitCommit} |`),
    "",
    `Machine and backend of each render: render.json.`,
    "",
  ];
  fs.writeFileSync(path.join(outDir, "README.md"), lines.join("\n"));
}
