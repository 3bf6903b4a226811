/**
 * The Volume: voxels plus the geometry that places them in the patient.
 *
 * Conventions, stated once for the whole library:
 * - World coordinates are RAS+ millimetres, as in NIfTI: +x points to the patient's Right,
 *   +y Anterior, +z Superior. DICOM's LPS+ is converted on read (x and y negated).
 * - `data` is stored with the first voxel index fastest, as NIfTI stores it:
 *   offset(i, j, k, t) = i + nx * (j + ny * (k + nz * t)).
 * - `affine` is a 4x4 row-major matrix mapping voxel indices (i, j, k, 1), zero-based, to
 *   world (x, y, z, 1). Geometry is always computed from it, never guessed from array axes.
 * - `spacing` is the voxel size along i, j, k (mm), and along t when 4D. It equals the column
 *   norms of the affine's 3x3 part; it is kept separately because NIfTI stores pixdim too.
 */

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** 4x4 row-major matrix: affine[row][col]. */
export type Affine = number[][];

export interface Volume<T extends VoxelArray = VoxelArray> {
  data: T;
  /** [nx, ny, nz] or [nx, ny, nz, nt]. A 2D image is [nx, ny, 1]. */
  shape: number[];
  /** Voxel size along each axis of `shape` (mm; seconds for t). */
  spacing: number[];
  /** Voxel (i, j, k, 1) -> RAS+ world mm. */
  affine: Affine;
  /** Where the volume came from (a path), for error messages and provenance. */
  source?: string;
}

export function identityAffine(): Affine {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

/** Number of voxels implied by a shape. */
export function voxelCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Column norms of the affine's 3x3 part: the voxel size in mm along i, j, k. */
export function affineSpacing(affine: Affine): number[] {
  return [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]));
}

/**
 * Check a volume's internal consistency; throws an Error naming `source` and the problem.
 * Used by every reader and writer so bad geometry never travels further than its file.
 */
export function validateVolume(v: Volume, source = v.source ?? "<volume>"): void {
  if (v.shape.length < 3 || v.shape.length > 4) throw new Error(`${source}: expected 3 or 4 dimensions, got shape [${v.shape}]`);
  for (const n of v.shape) if (!Number.isInteger(n) || n < 1) throw new Error(`${source}: invalid dimension size in shape [${v.shape}]`);
  if (v.data.length !== voxelCount(v.shape)) throw new Error(`${source}: data has ${v.data.length} voxels but shape [${v.shape}] needs ${voxelCount(v.shape)}`);
  if (v.affine.length !== 4 || v.affine.some((r) => r.length !== 4)) throw new Error(`${source}: affine must be 4x4`);
  if (v.affine.flat().some((x) => !Number.isFinite(x))) throw new Error(`${source}: affine has non-finite entries`);
  const sp = affineSpacing(v.affine);
  if (sp.some((s) => s === 0)) throw new Error(`${source}: affine is singular (a zero-length voxel axis)`);
}

/** World position (RAS+ mm) of voxel (i, j, k); fractional indices are fine. */
export function voxelToWorld(affine: Affine, ijk: readonly number[]): number[] {
  const [i, j, k] = [ijk[0] ?? 0, ijk[1] ?? 0, ijk[2] ?? 0];
  return [0, 1, 2].map((r) => affine[r][0] * i + affine[r][1] * j + affine[r][2] * k + affine[r][3]);
}

/** Determinant of the affine's 3x3 part: 0 means singular, its sign gives the handedness. */
export function affineDeterminant(affine: Affine): number {
  const m = affine;
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}
