/**
 * Orientation codes from an affine ("RAS", "LPI", ...): for each voxel axis, the world direction
 * it mostly points to. Only a summary for humans; geometry always uses the affine itself.
 */
import type { Affine } from "./volume.js";

const POSITIVE = ["R", "A", "S"];
const NEGATIVE = ["L", "P", "I"];

export function axisCodes(affine: Affine): string {
  let codes = "";
  for (let c = 0; c < 3; c++) {
    const col = [affine[0][c], affine[1][c], affine[2][c]];
    let best = 0;
    for (let r = 1; r < 3; r++) if (Math.abs(col[r]) > Math.abs(col[best])) best = r;
    codes += col[best] >= 0 ? POSITIVE[best] : NEGATIVE[best];
  }
  return codes;
}
