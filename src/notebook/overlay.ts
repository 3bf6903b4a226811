/**
 * A slice of an image as a grayscale plotly heatmap, optionally with a label map on top in
 * semi-transparent discrete colours (background label 0 is left out, so the image shows through).
 * Orientation is voxel order, i to the right and j up; see slice.ts.
 */
import type { Volume } from "../io/volume.js";
import { showPlotly, type PlotlyFigure } from "./plotly.js";
import { axialSlice, sliceAxisCodes } from "./slice.js";

export interface SliceFigureOptions {
  /** Slice index along k; default the middle slice. */
  k?: number;
  /** Frame of a 4D volume; default 0. */
  t?: number;
  /** A label map with the image's shape (at least its first three dimensions). */
  labels?: Volume;
  /** Names for label values, shown on the colour bar, e.g. {1: "LV", 2: "MYO", 3: "RV"}. */
  labelNames?: Record<number, string>;
  /** Opacity of the label colours; default 0.45. */
  opacity?: number;
  /** Grey window [low, high]; default the slice's 0.5th to 99.5th percentile. */
  window?: [number, number];
  title?: string;
  /** Plot width in pixels; the height follows the slice's physical aspect. Default 560. */
  width?: number;
}

/** Distinct colours for labels 1, 2, 3, ... (cycled). Colour-blind-friendly first entries. */
export const LABEL_COLOURS = [
  "rgb(230,25,75)", "rgb(60,180,75)", "rgb(0,130,200)", "rgb(255,225,25)", "rgb(245,130,48)",
  "rgb(145,30,180)", "rgb(70,240,240)", "rgb(240,50,230)", "rgb(210,245,60)", "rgb(0,128,128)",
];

export function labelColour(label: number): string {
  return LABEL_COLOURS[(label - 1 + LABEL_COLOURS.length * 1000) % LABEL_COLOURS.length];
}

/** 4 significant digits: float voxels would otherwise cost ~18 characters each in the JSON. */
function compact(x: number): number {
  return Number.isInteger(x) ? x : Number(x.toPrecision(4));
}

/** Nearest-rank percentile (p in 0..100) of sorted values: enough for a display window. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
}

/**
 * A stepped colour scale for integer labels 1..maxLabel on zmin = 0.5, zmax = maxLabel + 0.5:
 * each label owns an equal band, so every label gets exactly its colour.
 */
export function discreteColourscale(maxLabel: number): [number, string][] {
  const scale: [number, string][] = [];
  for (let l = 1; l <= maxLabel; l++) scale.push([(l - 1) / maxLabel, labelColour(l)], [l / maxLabel, labelColour(l)]);
  return scale;
}

/** Build the plotly figure: trace 0 is the image, trace 1 (if labels are given) the overlay. */
export function sliceFigure(image: Volume, options: SliceFigureOptions = {}): PlotlyFigure {
  const [nx, ny, nz] = image.shape;
  const { k = Math.floor(nz / 2), t = 0, labels, labelNames = {}, opacity = 0.45, width = 560 } = options;
  const z = axialSlice(image, k, t).map((row) => row.map(compact));
  let window = options.window;
  if (!window) {
    const sorted = z.flat().sort((a, b) => a - b);
    window = [percentile(sorted, 0.5), percentile(sorted, 99.5)];
    if (window[1] <= window[0]) window = [sorted[0], sorted[sorted.length - 1] + 1e-6];
  }
  const codes = sliceAxisCodes(image);
  const data: Record<string, unknown>[] = [
    {
      type: "heatmap",
      name: "image",
      z,
      zmin: window[0],
      zmax: window[1],
      colorscale: [[0, "rgb(0,0,0)"], [1, "rgb(255,255,255)"]],
      showscale: false,
      hovertemplate: "i %{x}, j %{y}<br>value %{z}<extra></extra>",
    },
  ];
  if (labels) {
    const [lx, ly, lz] = labels.shape;
    if (lx !== nx || ly !== ny || lz !== nz) {
      throw new Error(`${labels.source ?? "labels"}: shape [${labels.shape}] does not match image ${image.source ?? ""} shape [${image.shape}]`);
    }
    let maxLabel = 0;
    for (let o = 0; o < labels.data.length; o++) if (labels.data[o] > maxLabel) maxLabel = labels.data[o];
    maxLabel = Math.max(1, Math.round(maxLabel));
    // Label 0 becomes null: plotly leaves null cells undrawn, so the background stays visible.
    const zl = axialSlice(labels, k, Math.min(t, (labels.shape[3] ?? 1) - 1)).map((row) => row.map((l) => (l > 0 ? l : null)));
    const ticks = Array.from({ length: maxLabel }, (_, n) => n + 1);
    data.push({
      type: "heatmap",
      name: "labels",
      z: zl,
      zmin: 0.5,
      zmax: maxLabel + 0.5,
      colorscale: discreteColourscale(maxLabel),
      opacity,
      hoverongaps: false,
      colorbar: { title: { text: "label" }, tickvals: ticks, ticktext: ticks.map((l) => labelNames[l] ?? String(l)) },
      hovertemplate: "i %{x}, j %{y}<br>label %{z}<extra></extra>",
    });
  }
  // Square voxels on screen only when the spacing is isotropic: scale j by dy / dx.
  const aspect = image.spacing[1] / image.spacing[0];
  // The top margin leaves room for plotly's mode bar above the title.
  const margin = { l: 60, r: labels ? 110 : 20, t: 70, b: 50 };
  const plotWidth = width - margin.l - margin.r;
  const height = Math.round(margin.t + margin.b + (plotWidth * ny * aspect) / nx);
  return {
    data,
    layout: {
      title: { text: options.title ?? `${image.source ?? "volume"}: slice k=${k}${image.shape.length > 3 ? `, t=${t}` : ""}` },
      width,
      height,
      margin,
      xaxis: { title: { text: `i (increasing to ${codes.i})` }, range: [-0.5, nx - 0.5], constrain: "domain", showgrid: false, zeroline: false },
      yaxis: { title: { text: `j (increasing to ${codes.j})` }, range: [-0.5, ny - 0.5], scaleanchor: "x", scaleratio: aspect, constrain: "domain", showgrid: false, zeroline: false },
    },
  };
}

/** Show a slice with an optional label overlay in the current tslab notebook. */
export function showSlice(image: Volume, options: SliceFigureOptions = {}): void {
  showPlotly(sliceFigure(image, options));
}
