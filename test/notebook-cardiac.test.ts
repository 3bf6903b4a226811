import assert from "node:assert/strict";
import { test } from "node:test";
import { applyToPoint, invertAffine } from "../src/geometry/affine.js";
import { distanceToLineMm, slicePlane, type Plane } from "../src/geometry/plane.js";
import { dot, sub, type Vec3 } from "../src/geometry/vec.js";
import type { Volume } from "../src/io/volume.js";
import {
  clipLineToImage, cropInPlane, figureRowHtml, labelCentroids, longAxisWithSaLines, offsetPlaneInSlice,
  planes3dFigure, saSliceWithLines, sliceIntersectionSegment,
} from "../src/notebook/cardiac.js";
import { plotlyBundle, resetPlotlyEmbedding } from "../src/notebook/plotly.js";
import { generateCardiacExam } from "../src/phantoms/cardiac/index.js";
import { anatomicalPositionTargets, ORIENT_2CH, ORIENT_4CH, orientedViewPlane } from "../src/pretext/anatomical-position.js";

const exam = generateCardiacExam(4, { matrix: 32, pixel: 5 });
const sa = exam.views.SA.ED;
const ch2 = exam.views["2CH"].ED;
const ch4 = exam.views["4CH"].ED;
const planes = [
  { name: "2CH", plane: orientedViewPlane(ch2.image, ORIENT_2CH) },
  { name: "4CH", plane: orientedViewPlane(ch4.image, ORIENT_4CH) },
];

type Trace = Record<string, unknown> & { x: number[]; y: number[]; name: string; meta?: { a: number; b: number; c: number } };

const inside = (v: Volume, i: number, j: number, eps = 1e-6) =>
  i >= -0.5 - eps && i <= v.shape[0] - 0.5 + eps && j >= -0.5 - eps && j <= v.shape[1] - 0.5 + eps;

/** Distance (mm) from `plane` of the world point of pixel (i, j) of slice k. */
const offPlane = (v: Volume, ijk: Vec3, plane: Plane) => Math.abs(dot(plane.normal, sub(applyToPoint(v.affine, ijk), plane.point)));

test("clipLineToImage: end points on the line and on the image border; misses give undefined", () => {
  // i - j = 0 (the diagonal) in a 10 x 6 image: from (-0.5, -0.5) to (5.5, 5.5).
  const diag = clipLineToImage({ a: 1, b: -1, c: 0 }, 10, 6)!;
  const sorted = diag.slice().sort((p, q) => p[0] - q[0]);
  assert.ok(Math.abs(sorted[0][0] + 0.5) < 1e-9 && Math.abs(sorted[0][1] + 0.5) < 1e-9);
  assert.ok(Math.abs(sorted[1][0] - 5.5) < 1e-9 && Math.abs(sorted[1][1] - 5.5) < 1e-9);
  // Vertical line i = 3 (unnormalised coefficients are fine).
  const vertical = clipLineToImage({ a: 2, b: 0, c: -6 }, 10, 6)!;
  assert.deepEqual(vertical.map((p) => p[0]), [3, 3]);
  assert.deepEqual(vertical.map((p) => p[1]).sort((a, b) => a - b), [-0.5, 5.5]);
  assert.equal(clipLineToImage({ a: 1, b: 0, c: 20 }, 10, 6), undefined); // i = -20
  assert.equal(clipLineToImage({ a: 1, b: 1, c: -100 }, 10, 6), undefined);
});

test("saSliceWithLines: each plane's line trace satisfies a*i + b*j + c = 0 at its end points, inside the image", () => {
  const [nx, ny, nz] = sa.image.shape;
  for (let k = 0; k < nz; k++) {
    const fig = saSliceWithLines(sa.image, k, planes, { labels: sa.labels });
    assert.equal(fig.data[0].type, "heatmap");
    const lines = (fig.data as Trace[]).filter((t) => t.type === "scatter" && t.meta);
    assert.equal(lines.length, 2, `slice ${k}: both long-axis lines cross the image`);
    for (const t of lines) {
      const { a, b, c } = t.meta!;
      for (let e = 0; e < 2; e++) {
        assert.ok(Math.abs(a * t.x[e] + b * t.y[e] + c) < 1e-6, `${t.name} end ${e} is on its line`);
        assert.ok(inside(sa.image, t.x[e], t.y[e]), `${t.name} end ${e} (${t.x[e]}, ${t.y[e]}) inside ${nx}x${ny}`);
        // The pixel line is the plane's cut: the end points' world positions lie on the plane.
        const plane = planes.find((p) => t.name.startsWith(p.name))!.plane;
        assert.ok(offPlane(sa.image, [t.x[e], t.y[e], k], plane) < 1e-3);
      }
    }
  }
});

test("saSliceWithLines: the 2CH and 4CH lines cross inside the LV on a mid-ventricular slice", () => {
  const k = Math.floor(sa.image.shape[2] / 2);
  const fig = saSliceWithLines(sa.image, k, planes);
  const [l1, l2] = (fig.data as Trace[]).filter((t) => t.meta).map((t) => t.meta!);
  const det = l1.a * l2.b - l1.b * l2.a;
  const i = (l1.b * l2.c - l2.b * l1.c) / det;
  const j = (l2.a * l1.c - l1.a * l2.c) / det;
  const [nx, ny] = sa.labels.shape;
  assert.equal(sa.labels.data[Math.round(i) + nx * (Math.round(j) + ny * k)], 1, `the crossing (${i.toFixed(1)}, ${j.toFixed(1)}) is LV blood pool`);
});

test("saSliceWithLines with tileMm: band edges at +-w/2, +-3w/2 and tile numbers matching anatomicalPositionTargets", () => {
  const tileMm = 30;
  const targets = anatomicalPositionTargets(sa.image, planes.map((p) => p.plane), { tileMm });
  const [nx, ny] = sa.image.shape;
  const k = Math.floor(sa.image.shape[2] / 2);
  const fig = saSliceWithLines(sa.image, k, planes, { labels: { ...sa.image, data: targets }, tileMm, tileNumbers: true });
  for (const p of planes) {
    const edges = (fig.data as Trace[]).filter((t) => t.name === `${p.name} band edges`);
    assert.ok(edges.length >= 2, `${p.name}: band edges drawn`);
    // Signed in-plane distance is affine in (i, j): read its coefficients off the distance map.
    const d = distanceToLineMm(sa.image, k, p.plane)!;
    const at = (i: number, j: number) => d[0] + (d[1] - d[0]) * i + (d[nx] - d[0]) * j;
    for (const t of edges) {
      const d0 = at(t.x[0], t.y[0]);
      const d1 = at(t.x[1], t.y[1]);
      assert.ok(Math.abs(d0 - d1) < 1e-3, "an edge is parallel to its line");
      assert.ok([-45, -15, 15, 45].some((w) => Math.abs(d0 - w) < 1e-3), `edge at ${d0} mm`);
    }
  }
  const numbers = (fig.data as (Trace & { text: string[] })[]).find((t) => t.name === "tile numbers")!;
  assert.ok(numbers.text.length >= 5, "most tiles are numbered");
  numbers.text.forEach((label, n) => {
    const i = Math.round(numbers.x[n]);
    const j = Math.round(numbers.y[n]);
    assert.equal(String(targets[i + nx * (j + ny * k)]), label, `tile number ${label} sits on tile ${label}`);
  });
});

test("longAxisWithSaLines: SA slice lines on the long-axis view lie on the SA slice planes", () => {
  const fig = longAxisWithSaLines(ch4.image, sa.image, { labels: ch4.labels });
  const lines = (fig.data as Trace[]).filter((t) => t.meta);
  assert.ok(lines.length >= sa.image.shape[2] - 2, `${lines.length} SA lines`);
  for (const t of lines) {
    const k = Number(String((t.text as string[])[0]).replace(/.*k=/, ""));
    for (let e = 0; e < 2; e++) {
      assert.ok(inside(ch4.image, t.x[e], t.y[e]));
      assert.ok(offPlane(ch4.image, [t.x[e], t.y[e], 0], slicePlane(sa.image, k)) < 1e-3);
    }
  }
});

test("planes3dFigure: surface points lie on their slice planes; crossing segments lie on both planes", () => {
  const ks = [1, 4];
  const views = [
    { name: "SA", volume: sa.image, slices: ks },
    { name: "2CH", volume: ch2.image },
    { name: "4CH", volume: ch4.image },
  ];
  const fig = planes3dFigure(views, { lines: [{ name: "LV centroids", points: labelCentroids(sa.labels) }] });
  const surfaces = fig.data.filter((t) => t.type === "surface") as (Record<string, unknown> & { x: number[][]; y: number[][]; z: number[][]; hovertext: string })[];
  assert.equal(surfaces.length, ks.length + 2);
  const planeOf = (s: { hovertext: string }): Plane => {
    const m = /^SA slice k=(\d+)$/.exec(s.hovertext);
    if (m) return slicePlane(sa.image, Number(m[1]));
    return slicePlane(s.hovertext === "2CH" ? ch2.image : ch4.image, 0);
  };
  for (const s of surfaces) {
    const plane = planeOf(s);
    const rows = s.x.length;
    const cols = s.x[0].length;
    assert.ok(rows >= 2 && cols >= 2);
    for (const [r, c] of [[0, 0], [0, cols - 1], [rows - 1, 0], [rows - 1, cols - 1], [rows >> 1, cols >> 1]]) {
      const p: Vec3 = [s.x[r][c], s.y[r][c], s.z[r][c]];
      assert.ok(Math.abs(dot(plane.normal, sub(p, plane.point))) < 0.05, `${s.hovertext} point (${r}, ${c}) on its plane`);
    }
  }
  const segments = fig.data.filter((t) => t.type === "scatter3d" && (String(t.name).includes("line on") || String(t.name).includes("∩"))) as (Record<string, unknown> & { x: number[]; y: number[]; z: number[]; name: string })[];
  // 2 SA slices x 2 long-axis planes + the 2CH/4CH crossing.
  assert.equal(segments.length, 5);
  for (const t of segments) {
    const names = t.name.includes("∩") ? ["2CH", "4CH"] : [t.name.split(" ")[0], "SA"];
    for (let e = 0; e < 2; e++) {
      const p: Vec3 = [t.x[e], t.y[e], t.z[e]];
      const candidates: Plane[][] = names.map((n) => (n === "SA" ? ks.map((k) => slicePlane(sa.image, k)) : [slicePlane(n === "2CH" ? ch2.image : ch4.image, 0)]));
      for (const options of candidates) assert.ok(options.some((pl) => Math.abs(dot(pl.normal, sub(p, pl.point))) < 1e-3), `${t.name} end ${e} on ${names}`);
    }
  }
  assert.equal(fig.data.at(-1)!.name, "LV centroids");
  const cam = (fig.layout!.scene as { camera: { eye: { x: number; y: number; z: number } } }).camera.eye;
  assert.ok(Math.abs(Math.hypot(cam.x, cam.y, cam.z) - 2) < 1e-9);
});

test("sliceIntersectionSegment: clipped to both rectangles", () => {
  const seg = sliceIntersectionSegment(sa.image, 3, ch4.image, 0)!;
  for (const v of [sa.image, ch4.image]) {
    const inv = invertAffine(v.affine);
    for (const p of seg) {
      const q = applyToPoint(inv, p);
      assert.ok(inside(v, q[0], q[1], 1e-6), `inside ${v.source}`);
    }
  }
  // Two slices of one stack are parallel.
  assert.equal(sliceIntersectionSegment(sa.image, 1, sa.image, 2), undefined);
});

test("offsetPlaneInSlice: the moved plane cuts the slice at the requested in-plane distance", () => {
  const k = 2;
  const q = offsetPlaneInSlice(sa.image, k, planes[1].plane, 12)!;
  const d0 = distanceToLineMm(sa.image, k, planes[1].plane)!;
  const d1 = distanceToLineMm(sa.image, k, q)!;
  for (let o = 0; o < d0.length; o += 97) assert.ok(Math.abs(d0[o] - d1[o] - 12) < 1e-3);
});

test("cropInPlane: same voxels at the same world positions; labelCentroids averages a label per slice", () => {
  const centre = labelCentroids(sa.labels, 1)[2];
  const crop = cropInPlane(sa.image, centre, 30);
  const [mx, my, nz] = crop.shape;
  assert.ok(mx <= 14 && my <= 14 && mx >= 12 && nz === sa.image.shape[2]);
  const inv = invertAffine(sa.image.affine);
  for (const ijk of [[0, 0, 0], [mx - 1, my - 1, nz - 1], [3, 5, 2]] as Vec3[]) {
    const w = applyToPoint(crop.affine, ijk);
    const o = applyToPoint(inv, w).map(Math.round);
    assert.equal(crop.data[ijk[0] + mx * (ijk[1] + my * ijk[2])], sa.image.data[o[0] + sa.image.shape[0] * (o[1] + sa.image.shape[1] * o[2])]);
  }
  const labels: Volume = { data: new Uint8Array(4 * 3 * 2), shape: [4, 3, 2], spacing: [2, 2, 5], affine: [[2, 0, 0, 10], [0, 2, 0, 0], [0, 0, 5, 0], [0, 0, 0, 1]] };
  labels.data[1 + 4 * 1] = 1; // (1, 1, 0)
  labels.data[3 + 4 * 1] = 1; // (3, 1, 0)
  assert.deepEqual(labelCentroids(labels, 1), [[14, 2, 0]]); // mean voxel (2, 1, 0) -> world
});

test("figureRowHtml: plotly.js inlined once, one plot div per figure", () => {
  resetPlotlyEmbedding();
  const html = figureRowHtml([saSliceWithLines(sa.image, 1, planes), saSliceWithLines(sa.image, 2, planes)]);
  assert.equal(html.split(plotlyBundle().slice(0, 40)).length - 1, 1);
  assert.equal(html.split('class="anatomy-ssl-plot"').length - 1, 2);
  assert.match(html, /^<div style="display:flex/);
  resetPlotlyEmbedding();
});
