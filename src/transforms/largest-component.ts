/**
 * Largest-connected-component post-processing, as Zhang et al. 2024's code applies to every
 * predicted segmentation before scoring: for each class, keep only its largest 3D connected
 * component; voxels of smaller components become background. A heart has one LV, one myocardium
 * and one RV, so stray islands are errors by construction.
 *
 * Connectivity "face" (6 neighbours, scipy.ndimage.label's default) or "full" (26). Components
 * are found by breadth-first search over a flat index queue: linear time, no recursion.
 */

export type Connectivity = "face" | "full";

function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const n = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (n === 0 || (connectivity === "face" && n > 1)) continue;
        out.push([dx, dy, dz]);
      }
  return out;
}

/**
 * Component id (1..n) of every voxel equal to `value` in `labels` (shape [nx, ny, nz], x fastest),
 * 0 elsewhere, and each component's size.
 */
export function connectedComponents(labels: ArrayLike<number>, shape: readonly [number, number, number], value: number, connectivity: Connectivity = "face"): { ids: Int32Array; sizes: number[] } {
  const [nx, ny, nz] = shape;
  if (labels.length !== nx * ny * nz) throw new Error(`connectedComponents: ${labels.length} labels for shape ${shape.join("x")}`);
  const ids = new Int32Array(labels.length);
  const sizes = [0];
  const queue = new Int32Array(labels.length);
  const offsets = neighbourOffsets(connectivity);
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== value || ids[start] !== 0) continue;
    const id = sizes.length;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    ids[start] = id;
    while (head < tail) {
      const v = queue[head++];
      const x = v % nx;
      const y = Math.floor(v / nx) % ny;
      const z = Math.floor(v / (nx * ny));
      for (const [dx, dy, dz] of offsets) {
        const xx = x + dx;
        const yy = y + dy;
        const zz = z + dz;
        if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz) continue;
        const w = xx + nx * (yy + ny * zz);
        if (ids[w] === 0 && labels[w] === value) {
          ids[w] = id;
          queue[tail++] = w;
        }
      }
    }
    sizes.push(tail);
  }
  return { ids, sizes };
}

/**
 * A copy of `labels` where each class in `classes` keeps only its largest connected component
 * (ties: the component found first in voxel order); other voxels of that class become 0.
 */
export function keepLargestComponent(labels: Uint8Array, shape: readonly [number, number, number], classes: readonly number[], connectivity: Connectivity = "face"): Uint8Array {
  const out = Uint8Array.from(labels);
  for (const c of classes) {
    const { ids, sizes } = connectedComponents(labels, shape, c, connectivity);
    if (sizes.length <= 2) continue; // absent, or already one component
    let keep = 1;
    for (let id = 2; id < sizes.length; id++) if (sizes[id] > sizes[keep]) keep = id;
    for (let v = 0; v < out.length; v++) if (ids[v] !== 0 && ids[v] !== keep) out[v] = 0;
  }
  return out;
}
