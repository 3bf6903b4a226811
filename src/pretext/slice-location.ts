/**
 * Zhang et al. 2024 (MedIA), pretext B: where along its stack does a short-axis slice lie? The
 * target is the slice's position along the stack normal, min-max normalised to [0, 1] within its
 * stack, computed from the affine (not the array index, so unsorted or reversed stacks work).
 * The authors regress it from the U-Net bottleneck: global max pooling, a small fully connected
 * head (their 1024 -> 128 -> 1 with dropout; here bottleneck channels -> hidden -> 1), MSE.
 *
 * Which end is 0: the base. Geometry alone gives the stack normal but not its sign; the LV long
 * axis runs from the base towards the apex, which points to the patient's left, anterior and
 * inferior, so the end farther along TYPICAL_BASE_TO_APEX (geometry/sa-orientation.ts) is 1 (apex). Real files whose affines
 * are not RAS (see data-manifests) would flip it for the whole dataset, which keeps the pretext
 * consistent but swaps the meaning of 0 and 1.
 */
import * as tf from "@tensorflow/tfjs";
import { relativeSlicePositions } from "../geometry/plane.js";
import { applyToPoint } from "../geometry/affine.js";
import { TYPICAL_BASE_TO_APEX } from "../geometry/sa-orientation.js";
import { add, scale, type Vec3 } from "../geometry/vec.js";
import type { Volume } from "../io/volume.js";

/** Relative position of every slice of an SA stack: 0 at the basal end, 1 at the apical end. */
export function sliceLocationTargets(sa: Volume, apexDirection: Vec3 = TYPICAL_BASE_TO_APEX): number[] {
  const [nx, ny, nz] = sa.shape;
  // A point far along the apex direction from the stack centre: the slice nearest to it is apical.
  const centre = applyToPoint(sa.affine, [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2]);
  return relativeSlicePositions(sa, add(centre, scale(apexDirection, 1e4)));
}

export interface SliceLocationHeadOptions {
  /** Units of the hidden layer (the authors: 128). */
  hidden: number;
  dropout: number;
  seed: number;
}

export const DEFAULT_SLICE_LOCATION_HEAD: SliceLocationHeadOptions = { hidden: 128, dropout: 0.5, seed: 0 };

/**
 * A model with the U-Net's outputs plus a slice-location output ([batch, 1], sigmoid so it lies in
 * [0, 1]) regressed from the bottleneck layer `bottleneck` (for models/unet.ts U-Nets of depth D:
 * `enc${D-1}_relu2`). The new layers are named slice_location_*.
 */
export function withSliceLocationHead(unet: tf.LayersModel, bottleneck: string, options: SliceLocationHeadOptions = DEFAULT_SLICE_LOCATION_HEAD): tf.LayersModel {
  const features = unet.getLayer(bottleneck).output as tf.SymbolicTensor;
  let x = tf.layers.globalMaxPooling2d({ name: "slice_location_pool" }).apply(features) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: "slice_location_hidden", units: options.hidden, activation: "relu", kernelInitializer: tf.initializers.heNormal({ seed: options.seed }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ name: "slice_location_dropout", rate: options.dropout, seed: options.seed }).apply(x) as tf.SymbolicTensor;
  const location = tf.layers.dense({ name: "slice_location_out", units: 1, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1 }) }).apply(x) as tf.SymbolicTensor;
  const outputs = [...(unet.outputs as tf.SymbolicTensor[]), location];
  return tf.model({ name: `${unet.name}_slice_location`, inputs: unet.inputs, outputs });
}

/** Mean squared error of predicted ([batch, 1]) against target ([batch]) locations. */
export function sliceLocationLoss(predicted: tf.Tensor, target: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(predicted.reshape([-1]), target)) as tf.Scalar);
}
