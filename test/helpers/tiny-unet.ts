import type * as tf from "@tensorflow/tfjs";
import { buildUNet2D } from "../../src/models/unet2d.js";
import { buildUNet3D } from "../../src/models/unet3d.js";
import type { SegmentationNetwork } from "../../src/pretext/generic.js";

/** The generic-pretext tests' segmentation network: a U-Net of depth 2 and 4 base filters on `shape` ([h, w] or [d, h, w]). */
export function tinyNetwork(shape: number[]): SegmentationNetwork {
  const unet = (nOut: number, seed: number): tf.LayersModel =>
    shape.length === 2
      ? buildUNet2D({ height: shape[0], width: shape[1], inChannels: 1, nClasses: nOut, depth: 2, baseFilters: 4, seed })
      : buildUNet3D({ inDepth: shape[0], height: shape[1], width: shape[2], inChannels: 1, nClasses: nOut, depth: 2, baseFilters: 4, seed });
  return { dims: shape.length as 2 | 3, shape, depth: 2, unet };
}
