/**
 * Measurements that say how realistic an abdominal CT is, computed the same way on the phantom
 * and on real scans (any CT + label map, with the label map's names):
 * - HU mean and sd inside an organ's label (sd with ddof 0, as numpy's default), optionally
 *   inside the label eroded by one voxel;
 * - each kidney's volume (ml) and world centroid, and the left/right craniocaudal offset
 *   (mm, > 0 when the right kidney is lower), from a map with one label per side or, as in
 *   KiTS19, one kidney label for both sides (split into the two largest connected components;
 *   the one with the larger world x, RAS+, is the patient's right).
 * Geometry comes from the affine: volumes from |det|, positions in world mm, "craniocaudal"
 * is world z whatever the array layout.
 */
import type { Vec3 } from "../../geometry/vec.js";
import { affineDeterminant, voxelToWorld, type Volume } from "../../io/volume.js";
import { connectedComponents } from "../../transforms/largest-component.js";

/**
 * 1 at each of `values` (non-negative integer labels), 0 elsewhere: a lookup by label value.
 * Label values beyond the table (none of `values`) read as undefined, i.e. not a member.
 */
function memberTable(values: readonly number[]): Uint8Array {
  for (const v of values) if (!Number.isInteger(v) || v < 0) throw new Error(`label values must be non-negative integers, got ${v}`);
  const table = new Uint8Array(Math.max(255, ...values) + 1);
  for (const v of values) table[v] = 1;
  return table;
}

export interface HuStats {
  voxels: number;
  mean: number;
  sd: number;
}

/** Check that an image and its label map share a grid (shape and affine). */
export function checkSameGrid(image: Volume, labels: Volume): void {
  const same = image.shape.length === labels.shape.length && image.shape.every((n, d) => n === labels.shape[d]);
  if (!same) throw new Error(`${labels.source ?? "labels"}: shape [${labels.shape}] differs from the image's [${image.shape}] (${image.source ?? "image"})`);
  const worst = Math.max(...image.affine.flat().map((x, n) => Math.abs(x - labels.affine.flat()[n])));
  if (worst > 1e-3) throw new Error(`${labels.source ?? "labels"}: affine differs from the image's (${image.source ?? "image"}) by ${worst}`);
}

/**
 * HU statistics of the image inside any of `values` in the label map (null when absent).
 * `erode`: only voxels whose six face neighbours are in the label too (none at the volume's
 * border), which leaves out the boundary voxels where partial volume and how a label map
 * assigns mixed voxels dominate, so the texture and noise inside the organ are compared.
 */
export function labelHuStats(image: Volume, labels: Volume, values: readonly number[], options: { erode?: boolean } = {}): HuStats | null {
  checkSameGrid(image, labels);
  const want = memberTable(values);
  const [nx, ny, nz] = labels.shape;
  const lab = labels.data;
  const inside = (o: number, i: number, j: number, k: number): boolean => {
    if (!want[lab[o]]) return false;
    if (!options.erode) return true;
    if (i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1) return false;
    return !!(want[lab[o - 1]] & want[lab[o + 1]] & want[lab[o - nx]] & want[lab[o + nx]] & want[lab[o - nx * ny]] & want[lab[o + nx * ny]]);
  };
  const img = image.data;
  const chosen: number[] = [];
  for (let k = 0, o = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o++) if (inside(o, i, j, k)) chosen.push(o);
  if (chosen.length === 0) return null;
  let sum = 0;
  for (const o of chosen) sum += img[o];
  const mean = sum / chosen.length;
  let ss = 0;
  for (const o of chosen) ss += (img[o] - mean) ** 2;
  return { voxels: chosen.length, mean, sd: Math.sqrt(ss / chosen.length) };
}

/** The label value carrying `name` (exact match), or undefined. */
export function labelValue(names: Readonly<Record<number, string>>, name: string): number | undefined {
  const hit = Object.entries(names).find(([, n]) => n === name);
  return hit ? Number(hit[0]) : undefined;
}

/** HU statistics per organ name; organs missing from the names or the map give null. */
export function organHuStats(image: Volume, labels: Volume, names: Readonly<Record<number, string>>, organs: readonly string[]): Record<string, HuStats | null> {
  const out: Record<string, HuStats | null> = {};
  for (const organ of organs) {
    const v = labelValue(names, organ);
    out[organ] = v === undefined ? null : labelHuStats(image, labels, [v]);
  }
  return out;
}

export interface KidneyMeasure {
  voxels: number;
  ml: number;
  /** World (RAS mm) centroid. */
  centroid: Vec3;
  /** The kidney touches the first or last plane along the craniocaudal axis: cut off by the field of view. */
  truncated: boolean;
}

export interface KidneyPair {
  left: KidneyMeasure;
  right: KidneyMeasure;
  /** Left centroid z minus right centroid z (mm): positive when the right kidney is lower. */
  offsetMm: number;
}

/** Index of the voxel axis closest to world z (the craniocaudal axis of the array). */
export function craniocaudalAxis(v: Volume): number {
  const a = v.affine;
  const score = [0, 1, 2].map((c) => Math.abs(a[2][c]) / Math.hypot(a[0][c], a[1][c], a[2][c]));
  return score.indexOf(Math.max(...score));
}

/** Accumulates voxel index sums for one kidney. */
class Accumulator {
  n = 0;
  s = [0, 0, 0];
  touches = false;
  add(i: number, j: number, k: number, edge: boolean): void {
    this.n++;
    this.s[0] += i;
    this.s[1] += j;
    this.s[2] += k;
    if (edge) this.touches = true;
  }
  measure(v: Volume): KidneyMeasure {
    const voxelMl = Math.abs(affineDeterminant(v.affine)) / 1000;
    const mean = this.n > 0 ? this.s.map((x) => x / this.n) : [NaN, NaN, NaN];
    return { voxels: this.n, ml: this.n * voxelMl, centroid: voxelToWorld(v.affine, mean) as Vec3, truncated: this.touches };
  }
}

function pair(v: Volume, left: Accumulator, right: Accumulator): KidneyPair {
  const l = left.measure(v);
  const r = right.measure(v);
  return { left: l, right: r, offsetMm: l.centroid[2] - r.centroid[2] };
}

/** Kidneys labelled per side (e.g. TotalSegmentator's kidney_left / kidney_right, the phantom's). */
export function kidneyPairFromLabels(labels: Volume, left: readonly number[], right: readonly number[]): KidneyPair {
  const [nx, ny, nz] = labels.shape;
  const cc = craniocaudalAxis(labels);
  const side = new Int8Array(memberTable([...left, ...right]).length);
  for (const v of left) side[v] = -1;
  for (const v of right) side[v] = 1;
  const acc = { [-1]: new Accumulator(), [1]: new Accumulator() } as Record<number, Accumulator>;
  const d = labels.data;
  for (let k = 0, o = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o++) {
        const s = side[d[o]];
        if (s === 0) continue;
        const c = cc === 0 ? i : cc === 1 ? j : k;
        acc[s].add(i, j, k, c === 0 || c === labels.shape[cc] - 1);
      }
  return pair(labels, acc[-1], acc[1]);
}

/**
 * Kidneys sharing one label for both sides (KiTS19: 1 kidney, 2 tumour). `mask` values make up
 * a kidney (tumour included, so a tumour does not split or detach it); `count` values are what
 * its volume and centroid measure (kidney only, by default all of `mask`). The two largest
 * 6-connected components are the kidneys; smaller specks are ignored.
 */
export function kidneyPairFromComponents(labels: Volume, mask: readonly number[], count: readonly number[] = mask): KidneyPair {
  const [nx, ny, nz] = labels.shape;
  const inMask = memberTable(mask);
  const d = labels.data;
  // Crop to the mask's bounding box first: KiTS19 volumes hold up to 160 million voxels.
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  for (let k = 0, o = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o++) {
        if (!inMask[d[o]]) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
  if (hi[0] < 0) throw new Error(`${labels.source ?? "labels"}: no voxel with label ${mask.join(" or ")}`);
  const [cx, cy, cz] = [0, 1, 2].map((a) => hi[a] - lo[a] + 1);
  const crop = new Uint8Array(cx * cy * cz);
  for (let k = 0; k < cz; k++)
    for (let j = 0; j < cy; j++)
      for (let i = 0; i < cx; i++) crop[i + cx * (j + cy * k)] = inMask[d[lo[0] + i + nx * (lo[1] + j + ny * (lo[2] + k))]];
  const { ids, sizes } = connectedComponents(crop, [cx, cy, cz], 1, "face");
  const order = sizes.map((s, id) => [s, id]).slice(1).sort((a, b) => b[0] - a[0]).map(([, id]) => id);
  if (order.length < 2) throw new Error(`${labels.source ?? "labels"}: found ${order.length} kidney component(s), need two (left and right)`);
  const [first, second] = order;
  const counted = memberTable(count);
  const cc = craniocaudalAxis(labels);
  const accs = { [first]: new Accumulator(), [second]: new Accumulator() } as Record<number, Accumulator>;
  for (let k = 0, o = 0; k < cz; k++)
    for (let j = 0; j < cy; j++)
      for (let i = 0; i < cx; i++, o++) {
        const id = ids[o];
        if (id !== first && id !== second) continue;
        const ijk = [lo[0] + i, lo[1] + j, lo[2] + k];
        if (!counted[d[ijk[0] + nx * (ijk[1] + ny * ijk[2])]]) continue;
        accs[id].add(ijk[0], ijk[1], ijk[2], ijk[cc] === 0 || ijk[cc] === labels.shape[cc] - 1);
      }
  const a = accs[first].measure(labels);
  const b = accs[second].measure(labels);
  // RAS+: the patient's right is +x.
  return a.centroid[0] > b.centroid[0] ? pair(labels, accs[second], accs[first]) : pair(labels, accs[first], accs[second]);
}
