/**
 * Offline plotly for notebooks. The first figure shown in a kernel also carries plotly.js itself
 * (the 4.8 MB minified bundle from plotly.js-dist-min, inlined in a <script>), so the notebook
 * and its HTML export render without a network; every later figure is a small <div> plus a call
 * to Plotly.newPlot. If the output holding the library is cleared while the kernel lives, call
 * `resetPlotlyEmbedding()` (or restart the kernel) so the next figure carries it again.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { htmlDisplay } from "./display.js";

/** The subset of a plotly figure we build; traces and layout are plain JSON for Plotly.newPlot. */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let bundleCache: string | undefined;

/** plotly.js-dist-min's minified bundle, read once. It sets window.Plotly (no AMD in v3). */
export function plotlyBundle(): string {
  bundleCache ??= readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
  return bundleCache;
}

/**
 * Serialise JSON for inlining in a <script>: `<` is escaped so a string containing "</script>"
 * cannot end the element, and U+2028/2029 are escaped because they were line breaks in older JS.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** The <script> element that defines window.Plotly. */
export function plotlyLibraryHtml(): string {
  // The bundle contains no "</script" today; escape defensively so an upgrade cannot break pages.
  const js = plotlyBundle().replace(/<\/script/gi, "<\\/script");
  return `<script type="text/javascript">${js}</script>`;
}

/** A <div> and the script drawing `fig` into it; needs window.Plotly from `plotlyLibraryHtml()`. */
export function figureHtml(fig: PlotlyFigure, id = `anatomy-ssl-plot-${randomBytes(6).toString("hex")}`): string {
  const config = { responsive: true, displaylogo: false, ...fig.config };
  const width = typeof fig.layout?.width === "number" ? `${fig.layout.width}px` : "100%";
  const height = typeof fig.layout?.height === "number" ? `${fig.layout.height}px` : "450px";
  return [
    `<div id="${id}" class="anatomy-ssl-plot" style="width:${width};height:${height}"></div>`,
    `<script type="text/javascript">(function () {`,
    `  var el = document.getElementById(${scriptJson(id)});`,
    `  if (!window.Plotly) { el.textContent = "plotly.js is not loaded in this page: call resetPlotlyEmbedding() and re-run the cell."; return; }`,
    `  window.Plotly.newPlot(el, ${scriptJson(fig.data)}, ${scriptJson(fig.layout ?? {})}, ${scriptJson(config)});`,
    `})();</script>`,
  ].join("\n");
}

/** Remembers whether this page (this kernel session) already has the library. */
export class PlotlyEmbedder {
  private embedded = false;

  /** HTML for `fig`, preceded by the library the first time. */
  html(fig: PlotlyFigure): string {
    const lib = this.embedded ? "" : plotlyLibraryHtml() + "\n";
    this.embedded = true;
    return lib + figureHtml(fig);
  }

  reset(): void {
    this.embedded = false;
  }
}

/** One embedder per kernel process: a tslab kernel serves exactly one notebook. */
const notebookEmbedder = new PlotlyEmbedder();

/** HTML for `fig` in the current notebook (the library is included the first time only). */
export function plotlyHtml(fig: PlotlyFigure): string {
  return notebookEmbedder.html(fig);
}

/** Show a plotly figure in the current tslab notebook. */
export function showPlotly(fig: PlotlyFigure): void {
  // Resolve the display first: building the HTML marks the library as sent, so it must not be
  // built when there is nowhere to show it.
  const show = htmlDisplay();
  show(plotlyHtml(fig));
}

/** Forget that the library was sent, e.g. after clearing all outputs without restarting the kernel. */
export function resetPlotlyEmbedding(): void {
  notebookEmbedder.reset();
}
