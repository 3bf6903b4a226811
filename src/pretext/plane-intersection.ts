/**
 * Zhang et al. 2024 (MedIA), pretext A: where do the other imaging planes cut this image? Every
 * view of a cardiac exam carries its scanner geometry, so on each image the lines where the other
 * views' planes cut it are known from the affines alone. The target is one heatmap per other
 * view: a Gaussian ridge exp(-d^2 / 2 sigma^2) of the in-plane distance d (mm) to that line, peak
 * 1 on the line. The network regresses the heatmaps per pixel with a mean squared error.
 *
 * Which lines, per the authors' code (Forteee/Anatomy-Oriented-SSL): on a short-axis (SA) slice
 * the 2CH and 4CH lines; on a long-axis image the lines of the other long-axis views, and
 * optionally the lines of the SA slices (all of them in one channel, the maximum of their ridges).
 * sigma defaults to the authors' 6 px at their 1.26 mm grid: 7.56 mm. We set it in mm so it means
 * the same anatomy at any pixel size.
 */
import * as tf from "@tensorflow/tfjs";
import { distanceToLineMm, slicePlane, type Plane } from "../geometry/plane.js";
import type { Volume } from "../io/volume.js";

export interface PlaneIntersectionOptions {
  /** Width of the ridge (mm). */
  sigmaMm: number;
}

export const DEFAULT_PLANE_INTERSECTION: PlaneIntersectionOptions = { sigmaMm: 6 * 1.26 };

/** One target channel: the planes whose lines it shows (several planes: the maximum ridge). */
export interface IntersectionChannel {
  name: string;
  planes: Plane[];
}

/**
 * Heatmaps for every slice of `image`: a Float32Array of nx*ny*nz*C values, channels fastest
 * (slice k, pixel (i, j), channel c at ((k*ny + j)*nx + i)*C + c), ready for [slices, ny, nx, C]
 * tensors. A plane parallel to a slice has no line there: an error naming both.
 */
export function planeIntersectionTargets(image: Volume, channels: IntersectionChannel[], options: PlaneIntersectionOptions = DEFAULT_PLANE_INTERSECTION): Float32Array {
  if (channels.length === 0) throw new Error("plane intersection targets need at least one other view");
  if (!(options.sigmaMm > 0)) throw new Error(`plane intersection: sigmaMm must be > 0, got ${options.sigmaMm}`);
  const [nx, ny, nz] = image.shape;
  const C = channels.length;
  const out = new Float32Array(nx * ny * nz * C);
  const twoSigma2 = 2 * options.sigmaMm * options.sigmaMm;
  for (let k = 0; k < nz; k++) {
    channels.forEach((ch, c) => {
      for (const plane of ch.planes) {
        const d = distanceToLineMm(image, k, plane);
        if (!d) throw new Error(`${image.source ?? "image"}: the ${ch.name} plane is parallel to slice ${k}; it has no intersection line there`);
        for (let o = 0; o < nx * ny; o++) {
          const v = Math.exp(-(d[o] * d[o]) / twoSigma2);
          const at = (k * nx * ny + o) * C + c;
          if (v > out[at]) out[at] = v;
        }
      }
    });
  }
  return out;
}

/** Views of one exam by name (e.g. { SA, "2CH", "4CH" }), each a Volume with its affine. */
export type ExamViews = Partial<Record<string, Volume>>;

/**
 * The channels for an image of view `target`: on SA the long-axis views present among
 * `longAxis`; on a long-axis view the other long-axis views, plus one "SA" channel of every SA
 * slice's line when `withSaLines`.
 */
export function intersectionChannels(target: string, views: ExamViews, longAxis: readonly string[] = ["2CH", "4CH"], withSaLines = false): IntersectionChannel[] {
  const channels: IntersectionChannel[] = longAxis.filter((name) => name !== target).map((name) => {
    const v = views[name];
    if (!v) throw new Error(`plane intersection targets for ${target} need the ${name} view, which is missing`);
    return { name, planes: [slicePlane(v, 0)] };
  });
  if (target !== "SA" && withSaLines) {
    const sa = views.SA;
    if (!sa) throw new Error(`plane intersection targets for ${target} with SA lines need the SA stack, which is missing`);
    channels.push({ name: "SA", planes: Array.from({ length: sa.shape[2] }, (_, k) => slicePlane(sa, k)) });
  }
  return channels;
}

/** The head this pretext needs: one linear output channel per heatmap on the U-Net decoder. */
export function planeIntersectionHead(channels: number): { channels: number; loss: "mse" } {
  return { channels, loss: "mse" };
}

/** Mean squared error between predicted and target heatmaps ([batch, h, w, C] both). */
export function planeIntersectionLoss(predicted: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(predicted, target)) as tf.Scalar);
}
