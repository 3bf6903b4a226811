/**
 * Random 3D views of one volume with a known spatial map, for PGL-style local consistency
 * (Xie et al. 2020): two views of a CT share a region, and because each view is a grid with a
 * voxel -> world affine, the voxels of one view's feature map can be matched to the other's
 * exactly (`correspondence`), with no image registration.
 *
 * A view is drawn in the world frame (RAS+ mm), not in the source's voxel axes: volumes stored
 * in different orientations (LPS-derived, flipped NIfTI) then give views in one orientation,
 * as a canonical reorientation would. Before any random transform, view axis i points to +x
 * (Right), j to +y (Anterior), k to +z (Superior).
 *
 * The view's voxel -> world map, with v a view voxel and cv = (shape - 1) / 2 its centre voxel:
 *
 *     world(v) = centre + Q * R * F * S * (v - cv)
 *
 * S = diag(spacingMm / scale): voxel size (scale > 1 zooms in: finer voxels, smaller region).
 * F = diag(+-1): the flips. Innermost, so a flip is exactly a flip of the rendered array along
 *     that view axis, whatever the rotation.
 * R = Rz(az) Ry(ay) Rx(ax): small rotations about the world axes, x first.
 * Q = a quarter turn about world z (axial), applied last so it stays about the craniocaudal
 *     axis. Its matrix is built from integers, not cos/sin, so 90-degree turns map voxel centres
 *     onto voxel centres exactly.
 */
import { applyToPoint, invertAffine, matmul } from "../geometry/affine.js";
import { reslice, type Grid } from "../geometry/reslice.js";
import type { Vec3 } from "../geometry/vec.js";
import { voxelCount, type Affine, type Volume } from "../io/volume.js";
import type { Random } from "../random.js";

export interface ViewOptions {
  /** View grid size in voxels [nx, ny, nz]. */
  shape: [number, number, number];
  /** Voxel size (mm) at scale 1; the view's voxels are spacingMm / scale. */
  spacingMm: [number, number, number];
  /** Isotropic zoom range [lo, hi], drawn log-uniformly (so 0.8 and 1.25 are equally likely). */
  scale: [number, number];
  /** Small rotations: uniform in [-rotateDeg, rotateDeg] about each world axis. */
  rotateDeg: number;
  /** A random quarter turn (0, 90, 180 or 270 degrees) about the axial (z) axis. */
  rot90: boolean;
  /** Which view axes may be flipped (each with probability 1/2). */
  flip: [boolean, boolean, boolean];
  /** Centre jitter: uniform in [-jitterMm, jitterMm] along each world axis. */
  jitterMm: [number, number, number];
}

/**
 * Plausible defaults, not a claim about the paper's settings (the experiment config decides):
 * 64^3 voxels of 3 mm (a 192 mm cube: most of an abdomen's width), zoom 0.8-1.25, 10-degree tilts,
 * and the 8 symmetries of the axial plane with equal probability: a quarter turn (4) times an
 * optional left-right flip (2); a flip of y would add nothing new (it equals the x flip after a
 * half turn). No craniocaudal flip: scans are never upside down. A 24 mm jitter per view keeps
 * two views' relative shift under 48 mm, a quarter of the view, so they overlap substantially.
 */
export const PGL_VIEW_DEFAULTS: ViewOptions = {
  shape: [64, 64, 64],
  spacingMm: [3, 3, 3],
  scale: [0.8, 1.25],
  rotateDeg: 10,
  rot90: true,
  flip: [true, false, false],
  jitterMm: [24, 24, 24],
};

/** Everything a view drew, enough to rebuild it with `viewFromParams`. */
export interface ViewParams {
  /** Zoom factor: the view's voxel size is spacingMm / scale. */
  scale: number;
  /** Small rotations about world x, y, z (degrees), applied in that order. */
  rotateDeg: Vec3;
  /** Quarter turns about world z (0..3), counter-clockwise seen from +z. */
  quarterTurns: number;
  flip: [boolean, boolean, boolean];
  /** The drawn jitter (world mm); `centre` already includes it. */
  jitterMm: Vec3;
  /** World position (mm) of the view's centre voxel. */
  centre: Vec3;
}

export interface View3D {
  shape: [number, number, number];
  /** View voxel -> world (RAS+ mm). */
  affine: Affine;
  params: ViewParams;
}

/** World position of the centre of a grid's voxel box. */
export function gridCentre(grid: Grid): Vec3 {
  return applyToPoint(grid.affine, [0, 1, 2].map((d) => ((grid.shape[d] ?? 1) - 1) / 2) as Vec3);
}

/**
 * Draw a random view of `source` around `centre` (default: the source grid's centre). Every
 * number is drawn whatever the options (a disabled transform draws and ignores its number), in
 * a fixed order: scale, angles x y z, quarter turn, flips x y z, jitter x y z. So the same seed
 * gives the same view, and switching one transform off leaves the others' numbers unchanged.
 */
export function drawView(source: Grid, options: ViewOptions, rng: Random, centre?: Vec3): View3D {
  const o = options;
  if (!(o.scale[0] > 0 && o.scale[0] <= o.scale[1])) throw new Error(`drawView: scale range must satisfy 0 < lo <= hi, got [${o.scale.join(", ")}]`);
  const scale = Math.exp(rng.uniform(Math.log(o.scale[0]), Math.log(o.scale[1])));
  const rotateDeg = [0, 1, 2].map(() => rng.uniform(-o.rotateDeg, o.rotateDeg)) as Vec3;
  const turn = rng.int(0, 3);
  const flips = [0, 1, 2].map((d) => rng.next() < 0.5 && o.flip[d]) as [boolean, boolean, boolean];
  const jitterMm = [0, 1, 2].map((d) => rng.uniform(-o.jitterMm[d], o.jitterMm[d])) as Vec3;
  const base = centre ?? gridCentre(source);
  const params: ViewParams = {
    scale,
    rotateDeg,
    quarterTurns: o.rot90 ? turn : 0,
    flip: flips,
    jitterMm,
    centre: [0, 1, 2].map((d) => base[d] + jitterMm[d]) as Vec3,
  };
  return viewFromParams(params, options);
}

/** 3x3 rotation about world axis `axis` (0 x, 1 y, 2 z) by `deg` degrees, right-handed. */
function axisRotation(axis: number, deg: number): number[][] {
  const t = (deg * Math.PI) / 180;
  const [c, s] = [Math.cos(t), Math.sin(t)];
  const [p, q] = [(axis + 1) % 3, (axis + 2) % 3];
  const m = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  m[p][p] = c;
  m[p][q] = -s;
  m[q][p] = s;
  m[q][q] = c;
  return m;
}

/** Quarter turns about z as exact integer matrices (cos and sin of 90 degrees are not exact). */
const QUARTER_TURNS: number[][][] = [
  [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
  [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
  [[0, 1, 0], [-1, 0, 0], [0, 0, 1]],
];

const mul3 = (a: number[][], b: number[][]): number[][] => a.map((row) => [0, 1, 2].map((c) => row[0] * b[0][c] + row[1] * b[1][c] + row[2] * b[2][c]));

/** The view with these parameters on the grid of `options` (shape, spacingMm): see the formula at the top. */
export function viewFromParams(params: ViewParams, options: Pick<ViewOptions, "shape" | "spacingMm">): View3D {
  const shape = options.shape.slice() as [number, number, number];
  const [ax, ay, az] = params.rotateDeg;
  const small = mul3(axisRotation(2, az), mul3(axisRotation(1, ay), axisRotation(0, ax)));
  const turn = QUARTER_TURNS[((params.quarterTurns % 4) + 4) % 4];
  // Column d of Q R is where view axis d points; F and S scale it by +-spacing / scale.
  const qr = mul3(turn, small);
  const step = [0, 1, 2].map((d) => ((params.flip[d] ? -1 : 1) * options.spacingMm[d]) / params.scale);
  const linear = qr.map((row) => row.map((x, d) => x * step[d]));
  // Translation: world(cv) = centre, so t = centre - linear * cv.
  const cv = shape.map((n) => (n - 1) / 2);
  const affine: Affine = linear.map((row, r) => [...row, params.centre[r] - (row[0] * cv[0] + row[1] * cv[1] + row[2] * cv[2])]);
  affine.push([0, 0, 0, 1]);
  return { shape, affine, params: structuredClone(params) };
}

/**
 * Sample `src` on the view's grid: "linear" for images, "nearest" for label maps. Any Grid works
 * (a View3D is one), e.g. a `featureGrid` to get targets at a feature map's resolution.
 */
export function renderView(src: Volume, view: View3D | Grid, mode: "linear" | "nearest", fill = 0): Volume {
  return reslice(src, { shape: view.shape, affine: view.affine }, mode, fill);
}

/** Voxel coordinates in grid a -> voxel coordinates in grid b: inv(b.affine) * a.affine. */
export function viewToView(a: Grid, b: Grid): Affine {
  return matmul(invertAffine(b.affine), a.affine);
}

/**
 * The grid of a feature map after `level` 2x2x2 max-poolings of stride 2 of an input on `view`.
 * Pooled voxel j covers input voxels [f j, f (j + 1)) with f = 2^level, so its centre is input
 * voxel f j + (f - 1) / 2: the affine scales by f and shifts by (f - 1) / 2 input voxels.
 */
export function featureGrid(view: Grid, level: number): Grid {
  if (!Number.isInteger(level) || level < 0) throw new Error(`featureGrid: level must be a non-negative integer, got ${level}`);
  const f = 2 ** level;
  if (view.shape.length !== 3 || view.shape.some((n) => n % f !== 0)) {
    throw new Error(`featureGrid: shape [${view.shape.join(", ")}] cannot be pooled ${level} time(s) (level ${level}): every size must be a multiple of ${f}`);
  }
  const pool: Affine = [
    [f, 0, 0, (f - 1) / 2],
    [0, f, 0, (f - 1) / 2],
    [0, 0, f, (f - 1) / 2],
    [0, 0, 0, 1],
  ];
  return { shape: view.shape.map((n) => n / f), affine: matmul(view.affine, pool) };
}

export interface Correspondence {
  /** How many voxels of a fall inside b. */
  count: number;
  /** Flat index (x fastest) in a of each such voxel. */
  indexA: Int32Array;
  /** 8 flat indices into b per entry: corner bit 0 = +x, bit 1 = +y, bit 2 = +z. */
  corners: Int32Array;
  /** 8 trilinear weights per entry, in the order of `corners`; they sum to 1. */
  weights: Float32Array;
}

/** Points this close outside the hull of b's voxel centres still count as inside (rounding). */
const HULL_TOLERANCE = 1e-6;

/**
 * Which voxels of grid a lie inside grid b, and how to interpolate b there: for each voxel of a
 * (in flat order) whose centre, in b's voxel coordinates, lies within the hull [0, n - 1] of b's
 * voxel centres on every axis, its index, its 8 trilinear corners in b and their weights. Sampling
 * a feature map of b at a's voxels is then a gather of `corners` and a weighted sum of 8 rows.
 * Corners are clamped at the upper edge (x1 = min(x0 + 1, n - 1)) so a point exactly on b's last
 * plane gets weight 1 on that plane instead of falling outside.
 */
export function correspondence(a: Grid, b: Grid): Correspondence {
  const [ax, ay, az] = a.shape;
  const [bx, by, bz] = b.shape;
  const m = viewToView(a, b);
  const n = voxelCount([ax, ay, az]);
  const indexA = new Int32Array(n);
  const corners = new Int32Array(8 * n);
  const weights = new Float32Array(8 * n);
  const lo = -HULL_TOLERANCE;
  const [hx, hy, hz] = [bx - 1 + HULL_TOLERANCE, by - 1 + HULL_TOLERANCE, bz - 1 + HULL_TOLERANCE];
  let count = 0;
  let o = 0;
  for (let k = 0; k < az; k++) {
    for (let j = 0; j < ay; j++) {
      for (let i = 0; i < ax; i++, o++) {
        const x = m[0][0] * i + m[0][1] * j + m[0][2] * k + m[0][3];
        const y = m[1][0] * i + m[1][1] * j + m[1][2] * k + m[1][3];
        const z = m[2][0] * i + m[2][1] * j + m[2][2] * k + m[2][3];
        if (x < lo || y < lo || z < lo || x > hx || y > hy || z > hz) continue;
        // Clamp the tolerated overshoot, then split into a base corner and fractions in [0, 1].
        const cx = Math.min(Math.max(x, 0), bx - 1);
        const cy = Math.min(Math.max(y, 0), by - 1);
        const cz = Math.min(Math.max(z, 0), bz - 1);
        const x0 = Math.floor(cx);
        const y0 = Math.floor(cy);
        const z0 = Math.floor(cz);
        const fx = cx - x0;
        const fy = cy - y0;
        const fz = cz - z0;
        const dx = x0 + 1 < bx ? 1 : 0;
        const dy = y0 + 1 < by ? bx : 0;
        const dz = z0 + 1 < bz ? bx * by : 0;
        const base = x0 + bx * (y0 + by * z0);
        const e = 8 * count;
        indexA[count] = o;
        for (let c = 0; c < 8; c++) {
          const sx = c & 1;
          const sy = (c >> 1) & 1;
          const sz = (c >> 2) & 1;
          corners[e + c] = base + sx * dx + sy * dy + sz * dz;
          weights[e + c] = (sx ? fx : 1 - fx) * (sy ? fy : 1 - fy) * (sz ? fz : 1 - fz);
        }
        count++;
      }
    }
  }
  return { count, indexA: indexA.slice(0, count), corners: corners.slice(0, 8 * count), weights: weights.slice(0, 8 * count) };
}

/** Fraction of a's voxels that lie inside b (see `correspondence`). */
export function overlapFraction(a: Grid, b: Grid): number {
  return correspondence(a, b).count / voxelCount(a.shape);
}
