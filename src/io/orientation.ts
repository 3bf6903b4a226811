/**
 * Orientation codes from an affine ("RAS", "LPI", ...): the world direction each voxel axis
 * points to, by the rule of nibabel's aff2axcodes (io_orientation), so the answer matches what
 * nibabel users see. Only a summary for humans; geometry always uses the affine itself.
 */
import type { Affine } from "./volume.js";

const POSITIVE = ["R", "A", "S"];
const NEGATIVE = ["L", "P", "I"];

/**
 * Each voxel axis (i, j, k in turn) gets the world axis its direction is closest to among those
 * not yet given to an earlier voxel axis, so no world axis appears twice: an oblique column near
 * 45 degrees between two world axes takes the one still free (choosing each column's largest
 * entry on its own can repeat a letter, e.g. "IRR"). Directions are those of the nearest
 * orthogonal matrix to the 3x3 part with unit columns, which removes voxel size and shear.
 * A voxel axis with no direction (a zero column, or nothing left of it once earlier axes took
 * their world axes) gets "?" where nibabel gives None; only degenerate affines do that.
 */
export function axisCodes(affine: Affine): string {
  const r = polarFactor(unitColumns(affine));
  const taken = [false, false, false];
  let codes = "";
  for (let c = 0; c < 3; c++) {
    let best = -1;
    // First largest wins ties, as np.argmax does; taken rows are out (nibabel zeroes them).
    for (let w = 0; w < 3; w++) if (!taken[w] && (best < 0 || Math.abs(r[w][c]) > Math.abs(r[best][c]))) best = w;
    // nibabel's np.allclose(col, 0) on what is left of the column.
    if (best < 0 || Math.abs(r[best][c]) <= 1e-8) {
      codes += "?";
      continue;
    }
    taken[best] = true;
    codes += r[best][c] > 0 ? POSITIVE[best] : NEGATIVE[best];
  }
  return codes;
}

/** The 3x3 part with each column divided by its length (zero columns left as they are). */
function unitColumns(affine: Affine): number[][] {
  const norms = [0, 1, 2].map((c) => Math.hypot(affine[0][c], affine[1][c], affine[2][c]) || 1);
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r][c] / norms[c]));
}

/**
 * U V^T from the SVD a = U S V^T, keeping only singular values above nibabel's rank tolerance
 * (largest * 3 * machine epsilon): the orthogonal factor of the polar decomposition for a
 * full-rank matrix. One-sided Jacobi SVD, accurate for small singular values, which matters
 * only for that rank cut.
 */
function polarFactor(a: number[][]): number[][] {
  const u = a.map((row) => row.slice());
  const v = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  for (let sweep = 0; sweep < 30; sweep++) {
    let rotated = false;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      let [alpha, beta, gamma] = [0, 0, 0];
      for (let r = 0; r < 3; r++) {
        alpha += u[r][p] * u[r][p];
        beta += u[r][q] * u[r][q];
        gamma += u[r][p] * u[r][q];
      }
      if (Math.abs(gamma) <= Number.EPSILON * Math.sqrt(alpha * beta)) continue;
      rotated = true;
      // The rotation of columns p, q (applied to u and v alike) that makes them orthogonal.
      const zeta = (beta - alpha) / (2 * gamma);
      const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const cos = 1 / Math.sqrt(1 + t * t);
      const sin = cos * t;
      for (const m of [u, v])
        for (let r = 0; r < 3; r++) {
          const [x, y] = [m[r][p], m[r][q]];
          m[r][p] = cos * x - sin * y;
          m[r][q] = sin * x + cos * y;
        }
    }
    if (!rotated) break;
  }
  // Now u = U S: its column lengths are the singular values.
  const s = [0, 1, 2].map((k) => Math.hypot(u[0][k], u[1][k], u[2][k]));
  const tol = Math.max(...s) * 3 * Number.EPSILON;
  const out = [0, 1, 2].map(() => [0, 0, 0]);
  for (let k = 0; k < 3; k++) {
    if (!(s[k] > tol)) continue;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r][c] += (u[r][k] / s[k]) * v[c][k];
  }
  return out;
}
