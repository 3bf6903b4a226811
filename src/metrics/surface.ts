/**
 * Surface-distance metrics in millimetres: HD95 (95th-percentile Hausdorff distance) and ASSD
 * (average symmetric surface distance), in 3D with the volume's anisotropic voxel spacing, plus
 * a per-slice 2D variant.
 *
 * Definitions (the MedPy ones, connectivity 1, which the papers' evaluation code uses):
 * - Surface of a mask: its foreground voxels with at least one 6-connected neighbour in the
 *   background; voxels outside the image count as background, so a mask touching the image
 *   border has a surface there. (MedPy: mask XOR binary_erosion(mask), border_value 0.)
 * - Directed distances A->B: for each surface voxel of A, the Euclidean distance in mm between
 *   voxel centres to the nearest surface voxel of B. Computed exactly with a separable squared
 *   Euclidean distance transform (Felzenszwalb & Huttenlocher's lower envelope of parabolas,
 *   one pass per axis, each weighted by that axis's spacing squared), not brute force.
 * - HD95: the 95th percentile of the union (concatenation) of both directed sets, with NumPy's
 *   default "linear" percentile: sort the n values, h = (n - 1) * 0.95, interpolate between
 *   x[floor h] and x[floor h + 1]. This is MedPy's hd95 (numpy.percentile(hstack(d1, d2), 95)).
 * - ASSD: the mean of that union, sum(d1 + d2) / (|d1| + |d2|), the usual definition (Heimann
 *   et al. 2009). MedPy's `assd` differs: it averages the two directed means, (mean d1 + mean d2)
 *   / 2, which weights the smaller surface more. Both directed means are returned
 *   (`meanPredToRef`, `meanRefToPred`), so that value is one line away when needed.
 *
 * Geometry: distances use `spacing` only (voxel centres on an axis-aligned grid); the affine's
 * rotation does not change distances. An image with shape [nx, ny, 1] is a 2D image (the Volume
 * convention), scored with 4-connected in-plane surfaces; otherwise a one-voxel-thick stack would
 * be all surface because its neighbours above and below lie outside the image.
 *
 * Empty cases (MedPy raises an error for both):
 * - class absent from both prediction and reference: every field is 0 (perfect agreement);
 * - class absent from exactly one: the distances are undefined, every distance field is NaN
 *   (not Infinity, so one bad case cannot turn a mean into Infinity unnoticed). `summarize` in
 *   ./stats drops NaN values from means and reports how many it dropped; report that count, since
 *   leaving out missed structures flatters a model's mean HD95.
 */
import type { Volume } from "../io/volume.js";
import type { LabelArray } from "./overlap.js";

export interface SurfaceDistances {
  /** 95th percentile of both directed distance sets together (mm). */
  hd95: number;
  /** Mean of both directed distance sets together (mm). */
  assd: number;
  /** Maximum of both sets: the Hausdorff distance (mm). */
  hd: number;
  /** Mean distance from the prediction's surface to the reference's (mm). */
  meanPredToRef: number;
  /** Mean distance from the reference's surface to the prediction's (mm). */
  meanRefToPred: number;
  /** Number of surface voxels of the prediction and of the reference. */
  surfacePred: number;
  surfaceRef: number;
}

/**
 * Percentile of `values` with NumPy's default linear interpolation (q in [0, 100]), computed the
 * way numpy.percentile does so results agree to the last bit. Sorts `values` in place.
 */
export function percentileLinear(values: Float64Array, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  values.sort();
  const h = (n - 1) * (q / 100);
  if (h >= n - 1) return values[n - 1];
  if (h <= 0) return values[0];
  const lo = Math.floor(h);
  const t = h - lo;
  const a = values[lo];
  const b = values[lo + 1];
  const diff = b - a;
  // NumPy's _lerp: interpolate from whichever end is nearer, so t = 1 gives b exactly.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * 1D squared distance transform along one line of `grid` (Felzenszwalb & Huttenlocher 2012):
 * out[q] = min_p w (q - p)^2 + f[p], the lower envelope of parabolas rooted at the finite f[p].
 * `w` is the squared voxel spacing along the line. Scratch buffers are passed in to avoid
 * allocating per line.
 */
function edtLine(grid: Float64Array, start: number, stride: number, n: number, w: number, f: Float64Array, v: Int32Array, z: Float64Array): void {
  for (let q = 0; q < n; q++) f[q] = grid[start + q * stride];
  let k = -1; // index of the rightmost parabola in the envelope
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    if (fq === Infinity) continue; // no parabola here: not a site, and no site reached it yet
    const hq = fq + w * q * q;
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k];
      // Where the parabola from q overtakes the one from p.
      s = (hq - (f[p] + w * p * p)) / (2 * w * (q - p));
      if (s > z[k]) break;
      k--; // the parabola from p is hidden everywhere: drop it
    }
    if (k < 0) s = -Infinity;
    k++;
    v[k] = q;
    z[k] = s;
  }
  if (k < 0) return; // line has no finite value: stays Infinity
  z[k + 1] = Infinity;
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const d = q - v[j];
    grid[start + q * stride] = w * d * d + f[v[j]];
  }
}

/**
 * Squared Euclidean distance transform in place: on entry 0 at sites and Infinity elsewhere, on
 * exit each voxel's squared distance (mm^2) to the nearest site. Separable, so exact: the squared
 * distance is a sum of per-axis terms and each pass minimises over one axis.
 */
function squaredEdt(grid: Float64Array, dims: readonly [number, number, number], spacing: readonly number[]): void {
  const [nx, ny, nz] = dims;
  const longest = Math.max(nx, ny, nz);
  const f = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const n = dims[axis];
    if (n === 1) continue; // nothing to propagate along a single voxel
    const w = spacing[axis] * spacing[axis];
    const stride = strides[axis];
    // Visit every line along `axis`: loop over the other two axes.
    const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    for (let ib = 0; ib < dims[b]; ib++) {
      for (let ia = 0; ia < dims[a]; ia++) {
        edtLine(grid, ia * strides[a] + ib * strides[b], stride, n, w, f, v, z);
      }
    }
  }
}

/**
 * Indices of the surface voxels of `mask` within a box of `dims`. Outside the box is background:
 * callers crop to a box holding every foreground voxel, so that is true of the image as well.
 * `planar`: only the 4 in-plane neighbours count (2D images and per-slice scoring).
 */
function surfaceOf(mask: Uint8Array, dims: readonly [number, number, number], planar: boolean): Int32Array {
  const [nx, ny, nz] = dims;
  const sxy = nx * ny;
  const out: number[] = [];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const o = i + nx * j + sxy * k;
        if (!mask[o]) continue;
        const edge =
          i === 0 || i === nx - 1 || !mask[o - 1] || !mask[o + 1] ||
          j === 0 || j === ny - 1 || !mask[o - nx] || !mask[o + nx] ||
          (!planar && (k === 0 || k === nz - 1 || !mask[o - sxy] || !mask[o + sxy]));
        if (edge) out.push(o);
      }
    }
  }
  return Int32Array.from(out);
}

/** Distances (mm) from each voxel of `from` to the nearest voxel of `to`. `grid` is scratch. */
function directed(from: Int32Array, to: Int32Array, dims: readonly [number, number, number], spacing: readonly number[], grid: Float64Array): Float64Array {
  grid.fill(Infinity);
  for (let n = 0; n < to.length; n++) grid[to[n]] = 0;
  squaredEdt(grid, dims, spacing);
  const d = new Float64Array(from.length);
  for (let n = 0; n < from.length; n++) d[n] = Math.sqrt(grid[from[n]]);
  return d;
}

const BOTH_EMPTY: SurfaceDistances = { hd95: 0, assd: 0, hd: 0, meanPredToRef: 0, meanRefToPred: 0, surfacePred: 0, surfaceRef: 0 };

function sum(xs: Float64Array): number {
  let s = 0;
  for (let n = 0; n < xs.length; n++) s += xs[n];
  return s;
}

/**
 * The core: class `label` in slices [k0, k1) of two label maps laid out [nx, ny, nz], first index
 * fastest. Works in the bounding box of the class in either map, which is exact (every site and
 * every query voxel lies in it, and outside it is background) and much cheaper than the full image
 * for cardiac structures that fill a small part of the field of view.
 */
function measure(pred: LabelArray, ref: LabelArray, label: number, nx: number, ny: number, k0: number, k1: number, spacing: readonly number[], planar: boolean): SurfaceDistances {
  let [i0, j0, kk0, i1, j1, kk1] = [Infinity, Infinity, Infinity, -1, -1, -1];
  let inPred = false;
  let inRef = false;
  for (let k = k0; k < k1; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      for (let i = 0; i < nx; i++) {
        const p = pred[row + i] === label;
        const r = ref[row + i] === label;
        if (!p && !r) continue;
        inPred ||= p;
        inRef ||= r;
        if (i < i0) i0 = i;
        if (i > i1) i1 = i;
        if (j < j0) j0 = j;
        if (j > j1) j1 = j;
        if (k < kk0) kk0 = k;
        if (k > kk1) kk1 = k;
      }
    }
  }
  if (!inPred && !inRef) return { ...BOTH_EMPTY };
  if (!inPred || !inRef) {
    return { hd95: NaN, assd: NaN, hd: NaN, meanPredToRef: NaN, meanRefToPred: NaN, surfacePred: 0, surfaceRef: 0 };
  }

  const dims: [number, number, number] = [i1 - i0 + 1, j1 - j0 + 1, kk1 - kk0 + 1];
  const size = dims[0] * dims[1] * dims[2];
  const maskP = new Uint8Array(size);
  const maskR = new Uint8Array(size);
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      const src = i0 + nx * (j + j0 + ny * (k + kk0));
      const dst = dims[0] * (j + dims[1] * k);
      for (let i = 0; i < dims[0]; i++) {
        maskP[dst + i] = pred[src + i] === label ? 1 : 0;
        maskR[dst + i] = ref[src + i] === label ? 1 : 0;
      }
    }
  }
  const surfP = surfaceOf(maskP, dims, planar);
  const surfR = surfaceOf(maskR, dims, planar);
  const grid = new Float64Array(size);
  const pToR = directed(surfP, surfR, dims, spacing, grid);
  const rToP = directed(surfR, surfP, dims, spacing, grid);

  const sPR = sum(pToR);
  const sRP = sum(rToP);
  const all = new Float64Array(pToR.length + rToP.length);
  all.set(pToR);
  all.set(rToP, pToR.length);
  const hd95 = percentileLinear(all, 95); // sorts `all`
  return {
    hd95,
    assd: (sPR + sRP) / all.length,
    hd: all[all.length - 1],
    meanPredToRef: sPR / pToR.length,
    meanRefToPred: sRP / rToP.length,
    surfacePred: surfP.length,
    surfaceRef: surfR.length,
  };
}

function checkGeometry(shape: readonly number[], spacing: readonly number[], length: number): void {
  if (shape.length < 3 || shape.slice(3).some((n) => n !== 1)) throw new Error(`surface metrics need a 3D shape [nx, ny, nz], got [${shape}]`);
  if (shape[0] * shape[1] * shape[2] !== length) throw new Error(`label map has ${length} voxels but shape [${shape}] needs ${shape[0] * shape[1] * shape[2]}`);
  if (spacing.length < 3 || spacing.slice(0, 3).some((s) => !(s > 0) || !Number.isFinite(s))) throw new Error(`spacing must be 3 positive numbers (mm), got [${spacing}]`);
}

/**
 * HD95, ASSD and friends for class `label` of two label maps (or binary masks with label 1) of
 * the given shape [nx, ny, nz] (first index fastest) and spacing (mm per axis).
 * Class in neither map: all zeros. Class in only one: distance fields NaN.
 */
export function surfaceDistances(pred: LabelArray, ref: LabelArray, shape: readonly number[], spacing: readonly number[], label = 1): SurfaceDistances {
  if (pred.length !== ref.length) throw new Error(`label maps differ in length: prediction ${pred.length}, reference ${ref.length}`);
  checkGeometry(shape, spacing, ref.length);
  const [nx, ny, nz] = shape;
  return measure(pred, ref, label, nx, ny, 0, nz, spacing, nz === 1);
}

/**
 * Checks two volumes are on the same grid and returns the reference's spacing. Spacings may differ
 * by float noise (a prediction written to NIfTI as float32 pixdim), not by more.
 */
function sharedGrid(pred: Volume, ref: Volume): readonly number[] {
  const name = `${pred.source ?? "prediction"} vs ${ref.source ?? "reference"}`;
  if (pred.shape.length !== ref.shape.length || pred.shape.some((n, i) => n !== ref.shape[i])) {
    throw new Error(`${name}: shapes differ, [${pred.shape}] vs [${ref.shape}]`);
  }
  for (let a = 0; a < 3; a++) {
    const [p, r] = [pred.spacing[a], ref.spacing[a]];
    if (Math.abs(p - r) > 1e-4 * Math.max(p, r)) throw new Error(`${name}: spacings differ, [${pred.spacing}] vs [${ref.spacing}]`);
  }
  return ref.spacing;
}

/** Surface distances of class `label` between a predicted and a reference label volume. */
export function surfaceMetrics(pred: Volume, ref: Volume, label: number): SurfaceDistances {
  return surfaceDistances(pred.data, ref.data, ref.shape, sharedGrid(pred, ref), label);
}

/** Surface distances for each class, in `labels` order. */
export function surfaceMetricsPerClass(pred: Volume, ref: Volume, labels: readonly number[]): SurfaceDistances[] {
  const spacing = sharedGrid(pred, ref);
  return labels.map((c) => surfaceDistances(pred.data, ref.data, ref.shape, spacing, c));
}

/** HD95 (mm) of class `label`; 0 if absent from both, NaN if absent from one. */
export function hd95(pred: Volume, ref: Volume, label: number): number {
  return surfaceMetrics(pred, ref, label).hd95;
}

/** ASSD (mm) of class `label`; 0 if absent from both, NaN if absent from one. */
export function assd(pred: Volume, ref: Volume, label: number): number {
  return surfaceMetrics(pred, ref, label).assd;
}

/**
 * 2D surface distances of class `label` on each slice k (4-connected in-plane surfaces, in-plane
 * spacing), one result per slice, with the same empty-case conventions per slice. Some 2D papers
 * report per-slice means; note that a slice where the class is in neither map scores 0.
 */
export function surfaceMetricsPerSlice(pred: Volume, ref: Volume, label: number): SurfaceDistances[] {
  const spacing = sharedGrid(pred, ref);
  checkGeometry(ref.shape, spacing, ref.data.length);
  const [nx, ny, nz] = ref.shape;
  const out: SurfaceDistances[] = [];
  for (let k = 0; k < nz; k++) out.push(measure(pred.data, ref.data, label, nx, ny, k, k + 1, spacing, true));
  return out;
}
