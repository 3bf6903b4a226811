import assert from "node:assert/strict";
import { test } from "node:test";
import { DataFrame } from "danfojs";
import type { Volume } from "../src/io/volume.js";
import { setHtmlSink, showHtml } from "../src/notebook/display.js";
import { notebookMode } from "../src/notebook/mode.js";
import { discreteColourscale, labelColour, showSlice, sliceFigure } from "../src/notebook/overlay.js";
import { figureHtml, PlotlyEmbedder, plotlyBundle, resetPlotlyEmbedding, scriptJson } from "../src/notebook/plotly.js";
import { axialSlice, sliceAxisCodes } from "../src/notebook/slice.js";
import { tableHtml } from "../src/notebook/table.js";

/** nx=3, ny=2, nz=2 (nt frames): voxel value = its linear offset, so positions are checkable. */
function ramp(nt = 1): Volume<Float32Array> {
  const shape = nt > 1 ? [3, 2, 2, nt] : [3, 2, 2];
  const data = new Float32Array(3 * 2 * 2 * nt).map((_, o) => o);
  // i -> L (negative x), j -> A, k -> S; anisotropic in-plane spacing 1 x 2 mm.
  const affine = [[-1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]];
  return { data, shape, spacing: [1, 2, 5, 1].slice(0, shape.length), affine, source: "ramp" };
}

function labelsFor(image: Volume): Volume<Uint8Array> {
  // Slice k=1 holds offsets 6..11; give them labels 0 1 2 / 0 0 3.
  const data = new Uint8Array(12);
  data.set([0, 1, 2, 0, 0, 3], 6);
  return { ...image, data, shape: image.shape.slice(0, 3), source: "ramp labels" };
}

/** How many times the plotly bundle's licence header (its first line) occurs in `html`. */
function bundleCopies(html: string): number {
  const marker = plotlyBundle().slice(0, 40);
  return html.split(marker).length - 1;
}

test("axialSlice: rows are j, columns are i, offset i + nx*(j + ny*k)", () => {
  assert.deepEqual(axialSlice(ramp(), 0), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(axialSlice(ramp(), 1), [[6, 7, 8], [9, 10, 11]]);
  assert.deepEqual(axialSlice(ramp(2), 1, 1), [[18, 19, 20], [21, 22, 23]]);
  assert.throws(() => axialSlice(ramp(), 2), /ramp: slice k=2 is outside 0\.\.1/);
  assert.throws(() => axialSlice(ramp(), 0, 1), /frame t=1/);
  assert.deepEqual(sliceAxisCodes(ramp()), { i: "L", j: "A" });
});

test("sliceFigure: grayscale image trace and a discrete label overlay with the slice's values", () => {
  const image = ramp();
  const fig = sliceFigure(image, { k: 1, labels: labelsFor(image), labelNames: { 1: "LV", 2: "MYO", 3: "RV" }, window: [0, 11] });
  assert.equal(fig.data.length, 2);
  const [img, lab] = fig.data;
  assert.equal(img.type, "heatmap");
  assert.deepEqual(img.z, [[6, 7, 8], [9, 10, 11]]); // 2 rows (ny) x 3 columns (nx)
  assert.deepEqual([img.zmin, img.zmax], [0, 11]);
  // Background (0) is null so plotly leaves it transparent; labels keep their values.
  assert.deepEqual(lab.z, [[null, 1, 2], [null, null, 3]]);
  assert.deepEqual([lab.zmin, lab.zmax], [0.5, 3.5]);
  assert.equal(lab.opacity, 0.45);
  assert.deepEqual(discreteColourscale(3)[2], [1 / 3, labelColour(2)]);
  assert.deepEqual((lab.colorbar as { ticktext: string[] }).ticktext, ["LV", "MYO", "RV"]);
  // j is drawn with its 2 mm spacing relative to i's 1 mm.
  const yaxis = fig.layout?.yaxis as { scaleanchor: string; scaleratio: number; title: { text: string } };
  assert.deepEqual([yaxis.scaleanchor, yaxis.scaleratio], ["x", 2]);
  assert.match(yaxis.title.text, /A\)$/);
});

test("sliceFigure: default window from percentiles, middle slice, shape mismatch named", () => {
  const image = ramp();
  const fig = sliceFigure(image);
  assert.deepEqual(fig.data[0].z, [[6, 7, 8], [9, 10, 11]]); // floor(nz / 2) = 1
  assert.deepEqual([fig.data[0].zmin, fig.data[0].zmax], [6, 11]);
  const bad = { ...labelsFor(image), shape: [3, 2, 1], data: new Uint8Array(6) };
  assert.throws(() => sliceFigure(image, { labels: bad }), /ramp labels: shape \[3,2,1\] does not match image ramp/);
});

test("plotly.js is embedded exactly once across two figures, then small divs", () => {
  const shown: string[] = [];
  setHtmlSink((html) => shown.push(html));
  try {
    resetPlotlyEmbedding();
    showSlice(ramp(), { k: 0 });
    showSlice(ramp(), { k: 1, labels: labelsFor(ramp()) });
  } finally {
    setHtmlSink(undefined);
  }
  assert.equal(shown.length, 2);
  assert.equal(bundleCopies(shown[0]), 1);
  assert.equal(bundleCopies(shown[1]), 0);
  assert.ok(shown[1].length < 10_000, `second figure should be small, is ${shown[1].length} chars`);
  for (const html of shown) assert.match(html, /Plotly\.newPlot\(el, /);
  const ids = shown.map((h) => /<div id="([^"]+)"/.exec(h)?.[1]);
  assert.ok(ids[0] && ids[1] && ids[0] !== ids[1], `distinct div ids: ${ids}`);
  // A separate embedder (another page) starts again with the library.
  const page = new PlotlyEmbedder();
  assert.equal(bundleCopies(page.html({ data: [] })), 1);
  assert.equal(bundleCopies(page.html({ data: [] })), 0);
});

test("figure JSON cannot close its <script> early", () => {
  const html = figureHtml({ data: [{ type: "scatter", name: "</script><b>x" }] }, "fig");
  assert.equal(html.match(/<\/script>/g)?.length, 1);
  assert.equal(JSON.parse(scriptJson("</script>")), "</script>");
});

test("showHtml outside tslab without a sink says what to do", () => {
  assert.throws(() => showHtml("<b>x</b>"), /not running in a tslab kernel: get the HTML string with plotlyHtml\(\)\/tableHtml\(\)/);
});

test("tableHtml renders a danfojs DataFrame, escaping text and fixing decimals", () => {
  const df = new DataFrame([
    { label: 1, name: "LV", ml: 1.23456 },
    { label: 2, name: "<b>", ml: 2 },
  ]);
  const html = tableHtml(df, { digits: 2, caption: "volumes" });
  assert.match(html, /<caption>volumes<\/caption>/);
  assert.match(html, /<thead><tr><th><\/th><th>label<\/th><th>name<\/th><th>ml<\/th><\/tr><\/thead>/);
  assert.match(html, /<tr><th>0<\/th><td style="text-align:right">1<\/td><td style="text-align:left">LV<\/td><td style="text-align:right">1\.23<\/td><\/tr>/);
  assert.match(html, /&lt;b&gt;/);
  assert.match(tableHtml(df, { maxRows: 1, index: false }), /\.\.\. 1 more rows/);
});

test("notebookMode reads ANATOMY_SSL_NOTEBOOK_MODE", () => {
  assert.equal(notebookMode({}), "full");
  assert.equal(notebookMode({ ANATOMY_SSL_NOTEBOOK_MODE: "small" }), "small");
  assert.throws(() => notebookMode({ ANATOMY_SSL_NOTEBOOK_MODE: "tiny" }), /must be "small" or "full"/);
});
