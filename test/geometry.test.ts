import assert from "node:assert/strict";
import { test } from "node:test";
import {
  affineFromAxes,
  applyToPoint,
  distanceToLineMm,
  dot,
  intersectPlanes,
  invertAffine,
  lineInSlice,
  matmul,
  normalize,
  relativeSlicePositions,
  reslice,
  slicePlane,
  sub,
  type Plane,
  type Vec3,
} from "../src/geometry/index.js";
import type { Affine, Volume } from "../src/io/volume.js";
import { Random } from "../src/random.js";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);

function volume(shape: number[], affine: Affine, data?: Float32Array): Volume {
  return { data: data ?? new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, spacing: [1, 1, 1], affine };
}

const identity: Affine = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];

function randomRotation(rng: Random): [Vec3, Vec3, Vec3] {
  const u = normalize([rng.normal(), rng.normal(), rng.normal()]);
  let v: Vec3 = [rng.normal(), rng.normal(), rng.normal()];
  v = normalize(sub(v, u.map((x) => x * dot(u, v)) as Vec3));
  const w: Vec3 = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
  return [u, v, w];
}

test("affine inverse: A * inv(A) is the identity for random oblique affines", () => {
  const rng = new Random(1);
  for (let n = 0; n < 20; n++) {
    const [u, v, w] = randomRotation(rng);
    const a = affineFromAxes(u.map((x) => x * 1.3) as Vec3, v.map((x) => x * 0.7) as Vec3, w.map((x) => x * 8) as Vec3, [rng.normal(0, 100), rng.normal(0, 100), rng.normal(0, 100)]);
    const p = matmul(a, invertAffine(a));
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) close(p[r][c], r === c ? 1 : 0, 1e-12);
  }
  assert.throws(() => invertAffine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]), /singular/);
});

test("axis-aligned: the plane x = 10 cuts slice z = 5 along the pixel column i = 10", () => {
  const v = volume([32, 32, 8], identity);
  const other: Plane = { point: [10, -3, 99], normal: [1, 0, 0] };
  const line = lineInSlice(v, 5, other)!;
  // a i + b j + c = 0 with (a, b) unit: i - 10 = 0.
  close(line.a, 1);
  close(line.b, 0);
  close(line.c, -10);
  const world = intersectPlanes(slicePlane(v, 5), other)!;
  close(Math.abs(world.direction[1]), 1);
  close(world.point[0], 10);
  close(world.point[2], 5);
});

test("45 degrees: a plane with normal (1, 1, 0) through (10, 0, 0) cuts along i + j = 10", () => {
  const v = volume([32, 32, 4], identity);
  const line = lineInSlice(v, 2, { point: [10, 0, 0], normal: normalize([1, 1, 0]) })!;
  close(line.a, Math.SQRT1_2);
  close(line.b, Math.SQRT1_2);
  close(line.c, -10 * Math.SQRT1_2);
});

test("parallel planes have no intersection line", () => {
  const v = volume([8, 8, 4], identity);
  assert.equal(lineInSlice(v, 1, { point: [0, 0, 7], normal: [0, 0, -1] }), undefined);
  assert.equal(intersectPlanes(slicePlane(v, 0), slicePlane(v, 3)), undefined);
  assert.equal(distanceToLineMm(v, 0, { point: [0, 0, 7], normal: [0, 0, 1] }), undefined);
});

test("oblique: points on the computed pixel line lie on both planes within 1e-6 mm", () => {
  const rng = new Random(2);
  for (let n = 0; n < 200; n++) {
    const [u, v, w] = randomRotation(rng);
    const sp = [rng.uniform(0.5, 2), rng.uniform(0.5, 2), rng.uniform(5, 10)];
    const aff = affineFromAxes(u.map((x) => x * sp[0]) as Vec3, v.map((x) => x * sp[1]) as Vec3, w.map((x) => x * sp[2]) as Vec3, [rng.normal(0, 80), rng.normal(0, 80), rng.normal(0, 80)]);
    const vol = volume([64, 64, 10], aff);
    const other: Plane = { point: [rng.normal(0, 30), rng.normal(0, 30), rng.normal(0, 30)], normal: normalize([rng.normal(), rng.normal(), rng.normal()]) };
    const k = rng.int(0, 9);
    const line = lineInSlice(vol, k, other)!;
    const slice = slicePlane(vol, k);
    // Two points on the pixel line: the foot of the perpendicular from the origin, and one step along it.
    for (const t of [0, 25, -40]) {
      const i = -line.a * line.c - line.b * t;
      const j = -line.b * line.c + line.a * t;
      close(line.a * i + line.b * j + line.c, 0, 1e-9);
      const x = applyToPoint(aff, [i, j, k]);
      close(dot(other.normal, sub(x, other.point)), 0, 1e-6);
      close(dot(slice.normal, sub(x, slice.point)), 0, 1e-6);
    }
    // The world intersection line lies on both planes too.
    const l3 = intersectPlanes(slice, other)!;
    for (const t of [0, 100]) {
      const x: Vec3 = [l3.point[0] + t * l3.direction[0], l3.point[1] + t * l3.direction[1], l3.point[2] + t * l3.direction[2]];
      close(dot(other.normal, sub(x, other.point)), 0, 1e-6);
      close(dot(slice.normal, sub(x, slice.point)), 0, 1e-6);
    }
  }
});

test("in-plane distance to the line is in mm and corrects for an oblique cut", () => {
  // 2 mm pixels: pixel i sits at x = 2i, so the distance to the plane x = 10 is 2i - 10.
  const v = volume([16, 4, 1], [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
  const d = distanceToLineMm(v, 0, { point: [10, 0, 0], normal: [1, 0, 0] })!;
  for (let i = 0; i < 16; i++) close(d[i + 16 * 3], 2 * i - 10, 1e-5);
  // A plane tilted 45 degrees about the x axis cuts z = 0 along the x axis; the in-plane distance
  // of pixel (i, j) is 2j mm, although its distance to the tilted plane is only 2j / sqrt 2.
  const t = distanceToLineMm(v, 0, { point: [0, 0, 0], normal: normalize([0, 1, 1]) })!;
  for (let j = 0; j < 4; j++) close(t[5 + 16 * j], 2 * j, 1e-5);
});

test("relative slice positions follow the stack normal, not the index", () => {
  // k runs towards -z: slice 0 is at z = 0, slice 4 at z = -40.
  const v = volume([4, 4, 5], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -10, 0], [0, 0, 0, 1]]);
  assert.deepEqual(relativeSlicePositions(v), [0, 0.25, 0.5, 0.75, 1]);
  // Apex below the stack: the slice nearest to it (k = 4) gets 1.
  assert.deepEqual(relativeSlicePositions(v, [0, 0, -100]), [0, 0.25, 0.5, 0.75, 1]);
  // Apex above: reversed.
  assert.deepEqual(relativeSlicePositions(v, [0, 0, 100]), [1, 0.75, 0.5, 0.25, 0]);
});

test("reslice: identity is exact, trilinear reproduces a linear field, nearest keeps labels", () => {
  const rng = new Random(3);
  const [nx, ny, nz] = [9, 8, 7];
  const f = (x: number, y: number, z: number) => 2 * x - 3 * y + 0.5 * z + 1;
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = f(i, j, k);
  const aff: Affine = [[1.5, 0, 0, -4], [0, 1.5, 0, 2], [0, 0, 3, 10], [0, 0, 0, 1]];
  const src = volume([nx, ny, nz], aff, data);
  assert.deepEqual(reslice(src, { shape: src.shape, affine: aff }, "linear").data, data);
  // An oblique plane through the middle: sampled values equal f at the exact source coordinates.
  const [u, v, w] = randomRotation(rng);
  const centre = applyToPoint(aff, [4, 3.5, 3]);
  const grid = { shape: [5, 5, 1], affine: affineFromAxes(u, v, w, sub(centre, u.map((x, i) => 2 * x + 2 * v[i]) as Vec3)) };
  const out = reslice(src, grid, "linear", NaN);
  const inv = invertAffine(aff);
  for (let j = 0; j < 5; j++) for (let i = 0; i < 5; i++) {
    const s = applyToPoint(inv, applyToPoint(grid.affine, [i, j, 0]));
    const inside = s.every((c, a) => c >= 0 && c <= [nx, ny, nz][a] - 1);
    const got = out.data[i + 5 * j];
    if (inside) close(got, f(s[0], s[1], s[2]), 1e-4);
    else assert.ok(Number.isNaN(got));
  }
  // Nearest on labels: a 90-degree rotation about z permutes voxels exactly and keeps the type.
  const labels = new Uint8Array(nx * ny * nz).map((_, o) => o % 5);
  const lab: Volume = { ...src, data: labels };
  const rot: Affine = matmul(aff, [[0, -1, 0, nx - 1], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
  const r = reslice(lab, { shape: [ny, nx, nz], affine: rot }, "nearest");
  assert.ok(r.data instanceof Uint8Array);
  for (let k = 0; k < nz; k++) for (let j = 0; j < nx; j++) for (let i = 0; i < ny; i++) {
    // target (i, j, k) -> source (nx-1-j, i, k)
    assert.equal(r.data[i + ny * (j + nx * k)], labels[nx - 1 - j + nx * (i + ny * k)]);
  }
});
