/**
 * Bai et al. 2019 (MICCAI), "Self-supervised learning for cardiac MR image segmentation by
 * anatomical position prediction": targets for a per-pixel classification of anatomical
 * positions on short-axis (SA) slices, defined by imaging geometry alone.
 *
 * The long-axis planes (2CH, 4CH) contain the LV long axis, so they cut every SA slice along
 * two lines that cross near the LV centre. Bands of width `tileMm` centred on each line (the line
 * is the middle of the middle band, parallel lines at +-tileMm/2 and +-3 tileMm/2 bound the
 * bands) make a 3 x 3 grid of tiles around the heart: classes 1..9. Pixels outside the grid are
 * background, class 0. The paper's pretext is this 10-way segmentation.
 *
 * Tiles must mean the same anatomy in every subject, but a plane's normal has an arbitrary sign.
 * We orient each normal by the patient axes, which scanner geometry (DICOM/NIfTI) always gives:
 * the 2CH normal towards the patient's right (where the RV lies), the 4CH normal anterior.
 * With only one plane (e.g. M&Ms-2 has a 4CH but no 2CH) the grid degenerates to 3 bands.
 */
import { distanceToLineMm, slicePlane, type Plane } from "../geometry/plane.js";
import { dot, scale, type Vec3 } from "../geometry/vec.js";
import type { Volume } from "../io/volume.js";

export interface AnatomicalPositionOptions {
  /** Width of one tile (mm). 3 tiles span the LV and the septal part of the RV. */
  tileMm: number;
}

export const DEFAULT_ANATOMICAL_POSITION: AnatomicalPositionOptions = { tileMm: 30 };

/** Number of classes for `planeCount` long-axis planes: 3^n tiles + background. */
export function anatomicalPositionClasses(planeCount: number): number {
  return 3 ** planeCount + 1;
}

/** RAS directions that orient each plane's normal (see the file comment). */
export const ORIENT_2CH: Vec3 = [1, 0, 0];
export const ORIENT_4CH: Vec3 = [0, 1, 0];

/** The plane of a long-axis view, with its normal oriented towards `towards` (a world direction). */
export function orientedViewPlane(view: Volume, towards: Vec3): Plane {
  const p = slicePlane(view, 0);
  return dot(p.normal, towards) >= 0 ? p : { point: p.point, normal: scale(p.normal, -1) };
}

/**
 * Per-pixel targets for every slice of an SA stack: a Uint8Array of nx*ny*nz classes in the
 * Volume's voxel order (0 background, 1..3^n tiles). `planes` are oriented long-axis planes
 * (use orientedViewPlane), e.g. [2CH, 4CH]. A plane parallel to the SA slices is an error.
 */
export function anatomicalPositionTargets(sa: Volume, planes: Plane[], options: AnatomicalPositionOptions = DEFAULT_ANATOMICAL_POSITION): Uint8Array {
  if (planes.length === 0) throw new Error("anatomical positions need at least one long-axis plane");
  const [nx, ny, nz] = sa.shape;
  const w = options.tileMm;
  const out = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    const distances = planes.map((p) => {
      const d = distanceToLineMm(sa, k, p);
      if (!d) throw new Error(`${sa.source ?? "SA stack"}: a long-axis plane is parallel to slice ${k}`);
      return d;
    });
    for (let o = 0; o < nx * ny; o++) {
      let tile = 0;
      let inside = true;
      for (const d of distances) {
        // Band 0, 1, 2 for distances in [-1.5w, -0.5w), [-0.5w, 0.5w), [0.5w, 1.5w).
        const band = Math.floor(d[o] / w + 1.5);
        if (band < 0 || band > 2) {
          inside = false;
          break;
        }
        tile = tile * 3 + band;
      }
      out[k * nx * ny + o] = inside ? tile + 1 : 0;
    }
  }
  return out;
}

/**
 * The head and loss this pretext needs: a per-pixel classifier with one channel per class on
 * top of the U-Net decoder (the U-Net's 1x1 "head" conv), trained with softmax cross-entropy,
 * as in the paper.
 */
export function anatomicalPositionHead(planeCount: number): { channels: number; loss: "ce" } {
  return { channels: anatomicalPositionClasses(planeCount), loss: "ce" };
}
