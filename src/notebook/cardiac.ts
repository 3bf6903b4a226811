/**
 * Pictures of cardiac imaging geometry for notebooks: where long-axis planes (2CH, 4CH) cut
 * short-axis (SA) slices, the Bai 2019 anatomical-position tiles, and a 3D view of the planes.
 * Everything is computed from the volumes' affines (geometry/plane.ts), so the same figures work
 * for phantoms and for real scanner data. Figures are plain plotly JSON (`PlotlyFigure`): show
 * them with `showPlotly`, or several side by side with `showFigureRow`.
 *
 * 2D pictures are in voxel order like `sliceFigure` (i to the right, j up, pixel centres at
 * integer coordinates, the image covering [-0.5, n - 0.5] on each axis).
 */
import { applyToPoint, invertAffine } from "../geometry/affine.js";
import { intersectPlanes, lineInSlice, slicePlane, type PixelLine, type Plane } from "../geometry/plane.js";
import { add, cross, dot, norm, scale, sub, type Vec3 } from "../geometry/vec.js";
import type { Volume } from "../io/volume.js";
import { htmlDisplay } from "./display.js";
import { percentile, sliceFigure, type SliceFigureOptions } from "./overlay.js";
import { plotlyHtml, type PlotlyFigure } from "./plotly.js";

/** Colours of the views, used for their lines in 2D and their planes in 3D. */
export const VIEW_COLOURS: Record<string, string> = {
  SA: "rgb(150,150,150)",
  "2CH": "rgb(255,159,28)",
  "3CH": "rgb(160,90,255)",
  "4CH": "rgb(0,213,255)",
};

const FALLBACK_COLOURS = ["rgb(255,159,28)", "rgb(0,213,255)", "rgb(160,90,255)", "rgb(255,80,160)"];

/** A named plane to draw (e.g. the 2CH view plane from `orientedViewPlane`). */
export interface NamedPlane {
  name: string;
  plane: Plane;
  colour?: string;
}

const colourOf = (name: string, index: number, colour?: string) => colour ?? VIEW_COLOURS[name] ?? FALLBACK_COLOURS[index % FALLBACK_COLOURS.length];

type Point2 = [number, number];

/**
 * The part of the line a*i + b*j + c = 0 inside the rectangle [-0.5, nx - 0.5] x [-0.5, ny - 0.5]
 * (the area a slice's heatmap covers), as its two end points; undefined when it misses the image.
 */
export function clipLineToImage(line: PixelLine, nx: number, ny: number): [Point2, Point2] | undefined {
  const s = Math.hypot(line.a, line.b);
  if (!(s > 0)) return undefined;
  const a = line.a / s;
  const b = line.b / s;
  const c = line.c / s;
  // Point of the line nearest the origin, and its direction.
  const p: Point2 = [-a * c, -b * c];
  const d: Point2 = [-b, a];
  let t0 = -Infinity;
  let t1 = Infinity;
  const bounds: [number, number][] = [[-0.5, nx - 0.5], [-0.5, ny - 0.5]];
  for (let axis = 0; axis < 2; axis++) {
    const [lo, hi] = bounds[axis];
    if (Math.abs(d[axis]) < 1e-12) {
      if (p[axis] < lo || p[axis] > hi) return undefined;
      continue;
    }
    let ta = (lo - p[axis]) / d[axis];
    let tb = (hi - p[axis]) / d[axis];
    if (ta > tb) [ta, tb] = [tb, ta];
    t0 = Math.max(t0, ta);
    t1 = Math.min(t1, tb);
  }
  if (!(t1 > t0)) return undefined;
  const at = (t: number): Point2 => [p[0] + t * d[0], p[1] + t * d[1]];
  return [at(t0), at(t1)];
}

/**
 * `plane` moved along its normal so that it cuts slice k of `v` along the line at in-plane
 * distance `mm` from the original cut (positive on the side the normal points to). This is the
 * distance `distanceToLineMm` measures, so the Bai 2019 band boundaries are offsets of +-w/2 and
 * +-3w/2. Undefined when the plane is parallel to the slice.
 */
export function offsetPlaneInSlice(v: Volume, k: number, plane: Plane, mm: number): Plane | undefined {
  const sinAngle = norm(cross(slicePlane(v, k).normal, plane.normal));
  if (sinAngle < 1e-6) return undefined;
  return { point: add(plane.point, scale(plane.normal, mm * sinAngle)), normal: plane.normal };
}

export interface LineTraceOptions {
  colour?: string;
  /** Plotly dash style: "solid", "dash", "dot"... */
  dash?: string;
  width?: number;
  showlegend?: boolean;
  /** Trace name; default `${plane name} line`. */
  label?: string;
}

/**
 * A plotly scatter trace of the segment where `plane` cuts slice k of `v`, clipped to the image;
 * undefined when the plane is parallel to the slice or misses the image. The trace carries the
 * line's coefficients as `meta: {a, b, c}` (pixel coordinates), so it can be checked.
 */
export function planeLineTrace(v: Volume, k: number, named: NamedPlane, options: LineTraceOptions = {}): Record<string, unknown> | undefined {
  const line = lineInSlice(v, k, named.plane);
  if (!line) return undefined;
  const seg = clipLineToImage(line, v.shape[0], v.shape[1]);
  if (!seg) return undefined;
  return {
    type: "scatter",
    mode: "lines",
    name: options.label ?? `${named.name} line`,
    legendgroup: options.label ?? named.name,
    showlegend: options.showlegend ?? true,
    x: [seg[0][0], seg[1][0]],
    y: [seg[0][1], seg[1][1]],
    line: { color: options.colour ?? named.colour ?? VIEW_COLOURS[named.name] ?? FALLBACK_COLOURS[0], width: options.width ?? 3, dash: options.dash ?? "solid" },
    hoverinfo: "name",
    meta: { a: line.a, b: line.b, c: line.c },
  };
}

export interface SaSliceOptions extends SliceFigureOptions {
  /**
   * Draw the Bai 2019 band boundaries (dotted, at +-tileMm/2 and +-3 tileMm/2 from each line)
   * and, with `tileNumbers`, the number of each tile at its centre.
   */
  tileMm?: number;
  tileNumbers?: boolean;
  lineWidth?: number;
}

/** Solve a1 i + b1 j + c1 = 0, a2 i + b2 j + c2 = 0; undefined when (nearly) parallel. */
function meet(l1: PixelLine, l2: PixelLine): Point2 | undefined {
  const det = l1.a * l2.b - l1.b * l2.a;
  if (Math.abs(det) < 1e-9) return undefined;
  return [(l1.b * l2.c - l2.b * l1.c) / det, (l2.a * l1.c - l1.a * l2.c) / det];
}

/**
 * Slice k of an SA stack (optionally with labels, e.g. anatomical-position targets) with the
 * lines where each of `planes` cuts it. With `tileMm`, the tile grid of
 * `anatomicalPositionTargets(sa, planes.map(p => p.plane), {tileMm})` is drawn too: the tiles are
 * numbered band(plane 0) * 3 + band(plane 1) + 1, band 0/1/2 from the negative to the positive side
 * of each plane's normal.
 */
export function saSliceWithLines(v: Volume, k: number, planes: NamedPlane[], options: SaSliceOptions = {}): PlotlyFigure {
  const fig = sliceFigure(v, { ...options, k });
  const [nx, ny] = v.shape;
  const width = options.lineWidth ?? 3;
  planes.forEach((p, n) => {
    const colour = colourOf(p.name, n, p.colour);
    const trace = planeLineTrace(v, k, p, { colour, width, label: p.name });
    if (trace) fig.data.push(trace);
    if (options.tileMm !== undefined) {
      [-1.5, -0.5, 0.5, 1.5].forEach((f) => {
        const q = offsetPlaneInSlice(v, k, p.plane, f * options.tileMm!);
        const t = q && planeLineTrace(v, k, { name: p.name, plane: q }, { colour, width: 1.5, dash: "dot", label: `${p.name} band edges`, showlegend: false });
        if (t) fig.data.push(t);
      });
    }
  });
  if (options.tileMm !== undefined && options.tileNumbers && planes.length >= 1 && planes.length <= 2) {
    const w = options.tileMm;
    const bandLine = (p: NamedPlane, band: number) => {
      const q = offsetPlaneInSlice(v, k, p.plane, (band - 1) * w);
      return q && lineInSlice(v, k, q);
    };
    const xs: number[] = [];
    const ys: number[] = [];
    const text: string[] = [];
    const centre: Point2 = [(nx - 1) / 2, (ny - 1) / 2];
    for (let b0 = 0; b0 < 3; b0++) {
      for (let b1 = 0; b1 < (planes.length === 2 ? 3 : 1); b1++) {
        const l0 = bandLine(planes[0], b0);
        if (!l0) continue;
        let at: Point2 | undefined;
        if (planes.length === 2) {
          const l1 = bandLine(planes[1], b1);
          at = l1 && meet(l0, l1);
        } else {
          // One plane: label each band where it passes nearest the image centre.
          const r = l0.a * centre[0] + l0.b * centre[1] + l0.c;
          at = [centre[0] - r * l0.a, centre[1] - r * l0.b];
        }
        if (!at || at[0] < -0.5 || at[0] > nx - 0.5 || at[1] < -0.5 || at[1] > ny - 0.5) continue;
        xs.push(at[0]);
        ys.push(at[1]);
        text.push(String((planes.length === 2 ? b0 * 3 + b1 : b0) + 1));
      }
    }
    fig.data.push({
      type: "scatter",
      mode: "text",
      name: "tile numbers",
      showlegend: false,
      x: xs,
      y: ys,
      text,
      textfont: { color: "white", size: 15, family: "Arial Black, Arial, sans-serif", shadow: "1px 1px 2px black" },
      hoverinfo: "skip",
    });
  }
  tidyLegend(fig);
  return fig;
}

/**
 * A long-axis view (slice 0 of `la`) with the lines where chosen SA slices cut it: the picture a
 * radiographer plans the SA stack on. `ks` defaults to every SA slice.
 */
export function longAxisWithSaLines(la: Volume, sa: Volume, options: SliceFigureOptions & { ks?: number[]; colour?: string } = {}): PlotlyFigure {
  const fig = sliceFigure(la, { ...options, k: 0 });
  const ks = options.ks ?? Array.from({ length: sa.shape[2] }, (_, k) => k);
  ks.forEach((k, n) => {
    const trace = planeLineTrace(la, 0, { name: "SA", plane: slicePlane(sa, k) }, { colour: options.colour ?? "rgb(255,235,59)", width: 1.5, label: "SA slices", showlegend: n === 0 });
    if (trace) {
      trace.hoverinfo = "text";
      trace.text = [`SA slice k=${k}`, `SA slice k=${k}`];
      fig.data.push(trace);
    }
  });
  tidyLegend(fig);
  return fig;
}

/** A horizontal legend under the plot (inside the image it hides anatomy; the right margin holds the colour bar). */
function tidyLegend(fig: PlotlyFigure): void {
  const layout = fig.layout ?? {};
  const margin = { ...(layout.margin as Record<string, number>) };
  const extra = 24;
  margin.b = (margin.b ?? 50) + extra;
  fig.layout = {
    ...layout,
    height: typeof layout.height === "number" ? layout.height + extra : undefined,
    margin,
    showlegend: true,
    // Container coordinates: the legend may use the full figure width, so it stays on one row.
    legend: { orientation: "h", xref: "container", x: 0.02, xanchor: "left", yref: "container", y: 0, yanchor: "bottom", font: { size: 11 } },
  };
}

/**
 * The part of every slice of `v` within `radiusMm` (in-plane, a square) of `centre` (world mm), as
 * a new Volume with a shifted affine: for figures of a large field of view (e.g. a 380 mm
 * scanner image) around the heart. The voxel array is copied; `source` is kept.
 */
export function cropInPlane(v: Volume, centre: Vec3, radiusMm: number): Volume {
  const [nx, ny, nz] = v.shape;
  const c = applyToPoint(invertAffine(v.affine), centre);
  const range = (axis: number, n: number): [number, number] => {
    const r = radiusMm / v.spacing[axis];
    const lo = Math.max(0, Math.floor(c[axis] - r));
    const hi = Math.min(n - 1, Math.ceil(c[axis] + r));
    if (hi < lo) throw new Error(`${v.source ?? "volume"}: the crop around [${centre.map((x) => x.toFixed(1))}] misses the image`);
    return [lo, hi];
  };
  const [i0, i1] = range(0, nx);
  const [j0, j1] = range(1, ny);
  const mx = i1 - i0 + 1;
  const my = j1 - j0 + 1;
  const Ctor = v.data.constructor as new (n: number) => Volume["data"];
  const data = new Ctor(mx * my * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < my; j++) {
    const from = i0 + nx * (j0 + j + ny * k);
    data.set(v.data.subarray(from, from + mx), mx * (j + my * k));
  }
  const origin = applyToPoint(v.affine, [i0, j0, 0]);
  const affine = v.affine.map((row, r) => (r < 3 ? [row[0], row[1], row[2], origin[r]] : row.slice()));
  return { data, shape: [mx, my, nz], spacing: v.spacing.slice(0, 3), affine, source: v.source };
}

/** World position (mm) of the centroid of `label` on every slice that contains it: e.g. the LV centreline of an SA label map. */
export function labelCentroids(labels: Volume, label = 1): Vec3[] {
  const [nx, ny, nz] = labels.shape;
  const out: Vec3[] = [];
  for (let k = 0; k < nz; k++) {
    let si = 0;
    let sj = 0;
    let n = 0;
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      for (let i = 0; i < nx; i++) {
        if (labels.data[row + i] === label) {
          si += i;
          sj += j;
          n++;
        }
      }
    }
    if (n > 0) out.push(applyToPoint(labels.affine, [si / n, sj / n, k]));
  }
  return out;
}

/** One imaging view to draw in 3D: some of its slices as rectangles in patient space. */
export interface PlaneView3d {
  name: string;
  volume: Volume;
  /** Slices to draw; default every slice (a long-axis view has one). */
  slices?: number[];
  colour?: string;
  opacity?: number;
}

/** A polyline in world mm (e.g. the LV long axis). */
export interface Line3d {
  name: string;
  points: Vec3[];
  colour?: string;
  dash?: string;
  width?: number;
}

export interface Planes3dOptions {
  /** Paint each rectangle with its image (grey tinted with the view's colour); default true. */
  texture?: boolean;
  /** Texture resolution: at most this many samples per side; default 48. */
  maxSamples?: number;
  /** Draw where every two drawn rectangles of different views cross (clipped to both); default true. */
  intersections?: boolean;
  lines?: Line3d[];
  title?: string;
  width?: number;
  height?: number;
  /**
   * Camera position (plotly scene units, about 2 from the centre). Default: along the sum of the
   * views' normals, signs chosen so they add up, so every plane is seen obliquely, none edge-on.
   */
  eye?: Vec3;
}

function percentileWindow(values: number[]): [number, number] {
  const sorted = values.slice().sort((a, b) => a - b);
  const lo = percentile(sorted, 1);
  const hi = percentile(sorted, 99);
  return hi > lo ? [lo, hi] : [sorted[0], sorted[sorted.length - 1] + 1e-6];
}

const darker = (rgb: string): string => {
  const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(rgb);
  return m ? `rgb(${[m[1], m[2], m[3]].map((c) => Math.round(Number(c) * 0.12)).join(",")})` : "rgb(20,20,20)";
};

/** n indices from 0 to size-1 (both ends included). */
const samples = (size: number, n: number): number[] => (size <= n ? Array.from({ length: size }, (_, i) => i) : Array.from({ length: n }, (_, i) => Math.round((i * (size - 1)) / (n - 1))));

/**
 * A plotly `surface` trace for slice k of `v`: the rectangle spanned by its pixel centres, in
 * world mm, optionally textured with the image. x, y, z (and surfacecolor) are 2D arrays, rows
 * along j; every point lies on `slicePlane(v, k)`.
 */
export function sliceSurfaceTrace(v: Volume, k: number, options: { name: string; colour: string; opacity?: number; texture?: boolean; maxSamples?: number; showlegend?: boolean }): Record<string, unknown> {
  const [nx, ny] = v.shape;
  const texture = options.texture ?? true;
  const is = texture ? samples(nx, options.maxSamples ?? 48) : [0, nx - 1];
  const js = texture ? samples(ny, options.maxSamples ?? 48) : [0, ny - 1];
  const x: number[][] = [];
  const y: number[][] = [];
  const z: number[][] = [];
  const colour: number[][] = [];
  const round = (t: number) => Math.round(t * 100) / 100;
  for (const j of js) {
    const rx: number[] = [];
    const ry: number[] = [];
    const rz: number[] = [];
    const rc: number[] = [];
    for (const i of is) {
      const w = applyToPoint(v.affine, [i, j, k]);
      rx.push(round(w[0]));
      ry.push(round(w[1]));
      rz.push(round(w[2]));
      rc.push(texture ? Number(v.data[i + nx * (j + ny * k)].toPrecision(4)) : 1);
    }
    x.push(rx);
    y.push(ry);
    z.push(rz);
    colour.push(rc);
  }
  const [cmin, cmax] = texture ? percentileWindow(colour.flat()) : [0, 1];
  return {
    type: "surface",
    name: options.name,
    showlegend: options.showlegend ?? true,
    x,
    y,
    z,
    surfacecolor: colour,
    cmin,
    cmax,
    colorscale: texture ? [[0, darker(options.colour)], [1, options.colour]] : [[0, options.colour], [1, options.colour]],
    showscale: false,
    opacity: options.opacity ?? 0.6,
    lighting: { ambient: 1, diffuse: 0, specular: 0, roughness: 1, fresnel: 0 },
    hoverinfo: "name",
  };
}

/**
 * The segment where slice ka of `a` and slice kb of `b` cross, clipped to both images'
 * rectangles (pixel centres' extent +-0.5 px); undefined when they are parallel or do not overlap.
 */
export function sliceIntersectionSegment(a: Volume, ka: number, b: Volume, kb: number): [Vec3, Vec3] | undefined {
  const line = lineInSlice(a, ka, slicePlane(b, kb));
  if (!line) return undefined;
  const seg = clipLineToImage(line, a.shape[0], a.shape[1]);
  if (!seg) return undefined;
  const p0 = applyToPoint(a.affine, [seg[0][0], seg[0][1], ka]);
  const p1 = applyToPoint(a.affine, [seg[1][0], seg[1][1], ka]);
  // In b's voxel coordinates the segment is q0 + t (q1 - q0), t in [0, 1]: clip to b's rectangle.
  const inv = invertAffine(b.affine);
  const q0 = applyToPoint(inv, p0);
  const q1 = applyToPoint(inv, p1);
  let t0 = 0;
  let t1 = 1;
  for (let axis = 0; axis < 2; axis++) {
    const lo = -0.5;
    const hi = b.shape[axis] - 0.5;
    const d = q1[axis] - q0[axis];
    if (Math.abs(d) < 1e-12) {
      if (q0[axis] < lo || q0[axis] > hi) return undefined;
      continue;
    }
    let ta = (lo - q0[axis]) / d;
    let tb = (hi - q0[axis]) / d;
    if (ta > tb) [ta, tb] = [tb, ta];
    t0 = Math.max(t0, ta);
    t1 = Math.min(t1, tb);
  }
  if (!(t1 > t0)) return undefined;
  const at = (t: number): Vec3 => add(p0, scale(sub(p1, p0), t));
  return [at(t0), at(t1)];
}

/**
 * The line where two planes meet, as a segment spanning the SA stack `sa` (from its first to its
 * last slice plane, extended by `extendMm` at both ends): e.g. 2CH with 4CH, which planners place
 * along the LV long axis. Undefined when the planes are parallel or the line is parallel to the stack.
 */
export function planeIntersectionThroughStack(p: Plane, q: Plane, sa: Volume, extendMm = 10): [Vec3, Vec3] | undefined {
  const line = intersectPlanes(p, q);
  if (!line) return undefined;
  const n = slicePlane(sa, 0).normal;
  const along = dot(line.direction, n);
  if (Math.abs(along) < 1e-6) return undefined;
  const tAt = (k: number) => dot(n, sub(applyToPoint(sa.affine, [0, 0, k]), line.point)) / along;
  let ta = tAt(0);
  let tb = tAt(sa.shape[2] - 1);
  if (ta > tb) [ta, tb] = [tb, ta];
  const ext = extendMm / Math.abs(along);
  return [add(line.point, scale(line.direction, ta - ext)), add(line.point, scale(line.direction, tb + ext))];
}

/**
 * A 3D plotly view of imaging planes in patient space (RAS mm): each view's chosen slices as
 * translucent rectangles (textured with the image by default), the segments where rectangles of
 * different views cross (the lines the 2D figures draw), and extra `lines` such as the LV axis.
 */
export function planes3dFigure(views: PlaneView3d[], options: Planes3dOptions = {}): PlotlyFigure {
  const data: Record<string, unknown>[] = [];
  const drawn: { view: number; k: number }[] = [];
  views.forEach((view, n) => {
    const colour = colourOf(view.name, n, view.colour);
    const ks = view.slices ?? Array.from({ length: view.volume.shape[2] }, (_, k) => k);
    ks.forEach((k, m) => {
      const trace = sliceSurfaceTrace(view.volume, k, { name: ks.length > 1 ? `${view.name} slices` : view.name, colour, opacity: view.opacity, texture: options.texture, maxSamples: options.maxSamples, showlegend: m === 0 });
      trace.legendgroup = view.name;
      trace.hovertext = `${view.name}${ks.length > 1 ? ` slice k=${k}` : ""}`;
      trace.hoverinfo = "text";
      data.push(trace);
      drawn.push({ view: n, k });
    });
  });
  if (options.intersections ?? true) {
    const shown = new Set<string>();
    for (let x = 0; x < drawn.length; x++) {
      for (let y = x + 1; y < drawn.length; y++) {
        const A = drawn[x];
        const B = drawn[y];
        if (A.view === B.view) continue;
        const seg = sliceIntersectionSegment(views[A.view].volume, A.k, views[B.view].volume, B.k);
        if (!seg) continue;
        const both = [views[A.view].name, views[B.view].name];
        // A cut of a stack slice takes the colour of the single plane cutting it, as in 2D.
        const single = (v: number) => views[v].volume.shape[2] === 1;
        const bothSingle = single(A.view) && single(B.view);
        const by = single(B.view) ? B.view : A.view;
        const name = bothSingle ? `${both.join(" ∩ ")}` : `${views[by].name} line on ${views[by === A.view ? B.view : A.view].name}`;
        data.push({
          type: "scatter3d",
          mode: "lines",
          name,
          legendgroup: name,
          showlegend: !shown.has(name),
          x: seg.map((p) => p[0]),
          y: seg.map((p) => p[1]),
          z: seg.map((p) => p[2]),
          line: { color: bothSingle ? "rgb(30,30,30)" : colourOf(views[by].name, by, views[by].colour), width: bothSingle ? 7 : 5 },
          hoverinfo: "name",
        });
        shown.add(name);
      }
    }
  }
  for (const line of options.lines ?? []) {
    data.push({
      type: "scatter3d",
      mode: "lines+markers",
      name: line.name,
      x: line.points.map((p) => p[0]),
      y: line.points.map((p) => p[1]),
      z: line.points.map((p) => p[2]),
      line: { color: line.colour ?? "rgb(230,25,75)", width: line.width ?? 8, dash: line.dash ?? "solid" },
      marker: { size: 3, color: line.colour ?? "rgb(230,25,75)" },
      hoverinfo: "name",
    });
  }
  const axis = (title: string) => ({ title: { text: title }, backgroundcolor: "rgb(245,245,245)", showbackground: true });
  let eye = options.eye;
  if (!eye) {
    let sum: Vec3 = [0, 0, 0];
    for (const view of views) {
      const n = slicePlane(view.volume, 0).normal;
      sum = add(sum, dot(sum, n) >= 0 ? n : scale(n, -1));
    }
    // Look from above rather than from below (z up on screen).
    if (sum[2] < 0) sum = scale(sum, -1);
    const len = norm(sum);
    eye = len > 1e-9 ? scale(sum, 2 / len) : [1.4, -1.4, 0.9];
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? "Imaging planes in patient space" },
      width: options.width ?? 760,
      height: options.height ?? 640,
      margin: { l: 0, r: 0, t: 50, b: 70 },
      // Under the scene: a legend beside it would cover part of the 3D view.
      legend: { orientation: "h", xref: "container", x: 0.02, xanchor: "left", yref: "container", y: 0, yanchor: "bottom", font: { size: 11 } },
      scene: {
        aspectmode: "data",
        xaxis: axis("x: R+ (mm)"),
        yaxis: axis("y: A+ (mm)"),
        zaxis: axis("z: S+ (mm)"),
        camera: { eye: { x: eye[0], y: eye[1], z: eye[2] } },
      },
    },
  };
}

/** HTML showing figures side by side (wrapping when the row is too wide). */
export function figureRowHtml(figs: PlotlyFigure[]): string {
  return `<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start">${figs.map((f) => plotlyHtml(f)).join("\n")}</div>`;
}

/** Show figures side by side in the current tslab notebook. */
export function showFigureRow(figs: PlotlyFigure[]): void {
  const show = htmlDisplay();
  show(figureRowHtml(figs));
}
