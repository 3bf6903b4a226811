/**
 * Zhang et al. 2024's combination of its two pretexts by multitask learning: one U-Net whose
 * decoder regresses the plane-intersection heatmaps (pretext A) and whose bottleneck feeds the
 * slice-location head (pretext B), trained on loss = wPlanes * MSE(heatmaps) + wLocation *
 * MSE(location). The authors weight both 1. A weight of 0 turns a task off, so A alone and B
 * alone are the same model and loss with other weights (ablations are settings). The network
 * is a U-Net with one output channel per heatmap, given the location head by
 * withSliceLocationHead (slice-location.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { planeIntersectionLoss } from "./plane-intersection.js";
import { sliceLocationLoss } from "./slice-location.js";

export interface PlaneLocationWeights {
  planes: number;
  location: number;
}

export const ZHANG_WEIGHTS: PlaneLocationWeights = { planes: 1, location: 1 };

/** The weighted loss and its parts (for the training log). */
export function planeLocationLoss(
  outputs: { heatmaps: tf.Tensor4D; location: tf.Tensor },
  targets: { heatmaps: tf.Tensor4D; location: tf.Tensor1D },
  weights: PlaneLocationWeights = ZHANG_WEIGHTS,
): { loss: tf.Scalar; planes: tf.Scalar; location: tf.Scalar } {
  if (!(weights.planes >= 0 && weights.location >= 0) || weights.planes + weights.location === 0) {
    throw new Error(`plane/location multitask weights must be >= 0 and not both 0, got planes ${weights.planes}, location ${weights.location}`);
  }
  const planes = planeIntersectionLoss(outputs.heatmaps, targets.heatmaps);
  const location = sliceLocationLoss(outputs.location, targets.location);
  const loss = tf.tidy(() => planes.mul(weights.planes).add(location.mul(weights.location)) as tf.Scalar);
  return { loss, planes, location };
}
