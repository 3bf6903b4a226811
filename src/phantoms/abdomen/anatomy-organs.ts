/**
 * Point tests for the solid organs: liver, gallbladder, spleen, kidneys with their internal
 * structure, and the renal tumour.
 */
import type { Part } from "./part.js";
import { unionBox } from "./part.js";
import { BlobTest, type Blob, type BlobSlice } from "./shapes.js";
import type { Kidney, Tumor } from "./subject.js";
import { T } from "./tissues.js";

/**
 * A blob whose inside is shaded by `shade(r, slice)`: r is the deformed normalised radius (<= 1)
 * and the slice holds the point's normalised local coordinates (u, v, w).
 */
function shadedBlobPart(name: string, blob: Blob, shade: (r: number, p: BlobSlice) => number): Part {
  const b = new BlobTest(blob);
  return {
    name,
    box: b.box,
    at(z) {
      const p = b.slice(z);
      if (!p) return null;
      return (x, y) => {
        const r = p.radius(x, y);
        return r > 1 ? 0 : shade(r, p);
      };
    },
  };
}

/** A blob filled with one tissue. */
export function blobPart(name: string, blob: Blob, tissue: number): Part {
  return shadedBlobPart(name, blob, () => tissue);
}

export function liverPart(right: Blob, left: Blob): Part {
  const r = new BlobTest(right);
  const l = new BlobTest(left);
  return {
    name: "liver",
    box: unionBox(r.box, l.box),
    at(z) {
      const rs = r.slice(z);
      const ls = l.slice(z);
      if (!rs && !ls) return null;
      return (x, y) => ((rs && rs.radius(x, y) <= 1) || (ls && ls.radius(x, y) <= 1) ? T.liver : 0);
    },
  };
}

/**
 * A kidney: cortex (outer `cortex` mm, plus columns of Bertin between the pyramids), medullary
 * pyramids, and the renal sinus (fat around a urine-filled pelvis) set towards the hilum (-u)
 * and open there. All of it carries the kidney's label.
 */
export function kidneyPart(k: Kidney, side: "left" | "right"): Part {
  const [su, sv, sw] = k.shape.semi;
  const tissue = side === "left"
    ? { cortex: T.kidney_left_cortex, medulla: T.kidney_left_medulla, sinus: T.kidney_left_sinus_fat, pelvis: T.kidney_left_pelvis }
    : { cortex: T.kidney_right_cortex, medulla: T.kidney_right_medulla, sinus: T.kidney_right_sinus_fat, pelvis: T.kidney_right_pelvis };
  const s = k.sinus;
  return shadedBlobPart(`kidney ${side}`, k.shape, (r, { u, v, w }) => {
    const inSinus = ((u + 0.35) / (0.5 * s)) ** 2 + (v / (0.45 * s)) ** 2 + (w / (0.62 * s)) ** 2 < 1;
    const inHilum = u < -0.35 && (w / 0.32) ** 2 + (v / 0.42) ** 2 < 1;
    if (inSinus || inHilum) return ((u + 0.5) / 0.4) ** 2 + (v / 0.3) ** 2 + (w / 0.42) ** 2 < 1 ? tissue.pelvis : tissue.sinus;
    // Depth below the surface along the ray from the centre, in mm.
    const depth = (Math.sqrt((u * su) ** 2 + (v * sv) ** 2 + (w * sw) ** 2) * (1 - r)) / Math.max(r, 0.05);
    if (depth < k.cortex) return tissue.cortex;
    return Math.cos(7 * Math.atan2(v, w) + k.pyramidPhase) > 0.75 ? tissue.cortex : tissue.medulla;
  });
}

export function tumorPart(t: Tumor): Part {
  return shadedBlobPart("tumor", t.shape, (r) => (r < t.necrosis ? T.tumor_necrosis : T.tumor));
}
