/**
 * Where notebook HTML goes. Inside a tslab kernel it is tslab's `display.html`; elsewhere (plain
 * Node, tests) nothing is shown unless a sink is installed, and `show*` functions throw a clear
 * error instead of silently doing nothing. Every `show*` helper has a pure twin returning the
 * HTML (`plotlyHtml`, `tableHtml`; `sliceFigure` gives the figure), for tests and scripts.
 */
import * as path from "node:path";

export type HtmlSink = (html: string) => void;

let installedSink: HtmlSink | undefined;

/** Route `showHtml` output to `sink` (tests, or exporting figures); `undefined` restores the default. */
export function setHtmlSink(sink: HtmlSink | undefined): void {
  installedSink = sink;
}

interface TslabDisplay {
  html(s: string): void;
}

/**
 * The running tslab kernel's `display`, or undefined when this process is not a tslab kernel.
 * We look for the kernel's own `tslab/dist/jupyter.js` in the module cache and load `public.js`
 * beside it, rather than a bare `require("tslab")`: that could resolve to another copy of tslab
 * (e.g. a global one) whose display is not wired to the kernel, and loading tslab outside a
 * kernel pulls in its TypeScript compiler for nothing.
 */
function tslabDisplay(): TslabDisplay | undefined {
  const suffix = path.join("tslab", "dist", "jupyter.js");
  for (const id of Object.keys(require.cache)) {
    if (!id.endsWith(suffix)) continue;
    const jupyter = require.cache[id]?.exports as { lastWriteDisplayData?: unknown } | undefined;
    // Set by tslab while a cell executes; null before the first execute request.
    if (jupyter?.lastWriteDisplayData == null) continue;
    const pub = require(path.join(path.dirname(id), "public.js")) as { display: TslabDisplay };
    return pub.display;
  }
  return undefined;
}

/** The function that displays HTML now; throws outside tslab when no sink is installed. */
export function htmlDisplay(): HtmlSink {
  if (installedSink) return installedSink;
  const display = tslabDisplay();
  if (!display) throw new Error("not running in a tslab kernel: get the HTML string with plotlyHtml()/tableHtml() instead, or install a sink with setHtmlSink()");
  return (html) => display.html(html);
}

/** Display an HTML fragment as a cell output. Throws outside tslab when no sink is installed. */
export function showHtml(html: string): void {
  htmlDisplay()(html);
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}
