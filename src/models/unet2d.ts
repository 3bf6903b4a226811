/**
 * A configurable 2D U-Net (Ronneberger et al. 2015 shape) built with the tf.layers functional API.
 *
 * Level l (0 = full resolution) has baseFilters * 2^l channels. Each level runs two
 * conv3x3('same') -> BatchNorm -> ReLU blocks; the encoder max-pools 2x2 between levels, the
 * deepest level is the bottleneck, and the decoder upsamples by 2 (transposed conv, or
 * nearest-neighbour resize + 3x3 conv), concatenates the encoder's skip and runs its own two blocks.
 * A 1x1 conv gives per-pixel class logits (no softmax: losses take logits).
 *
 * Layer names say which part a layer belongs to, so weights can be transferred by name:
 *   enc{l}_conv{1,2}, enc{l}_bn{1,2}, enc{l}_relu{1,2}, enc{l}_pool   encoder, l = 0..depth-1
 *                                                                    (enc{depth-1} is the bottleneck)
 *   dec{l}_up, dec{l}_concat, dec{l}_conv{1,2}, dec{l}_bn{1,2}, ...   decoder, l = depth-2..0
 *   head                                                             1x1 conv to logits
 * See unetPart(). The encoder/decoder skeleton, shared with the 3D U-Net, is ./unet.ts.
 *
 * The convs before BatchNorm have no bias (BN's beta replaces it), and BN (./batch-norm.ts: tfjs's
 * BatchNormalization with a fused training pass) uses PyTorch's epsilon and momentum, so the network matches the usual PyTorch U-Net parameter for parameter
 * (bench/train_step_torch.py is that twin).
 */
import * as tf from "@tensorflow/tfjs";
import { buildUNet, levelFilters, unetParamCount, type UNetLayers } from "./unet.js";

export type Upsampling = "transpose" | "resize";

export interface UNet2DConfig {
  /** Input height and width; both must be divisible by 2^(depth-1). */
  height: number;
  width: number;
  /** Input channels. */
  inChannels: number;
  /** Output classes (logit channels), background included. */
  nClasses: number;
  /** Number of resolution levels, bottleneck included (depth-1 poolings). */
  depth: number;
  /** Channels at level 0; doubled at every level down. */
  baseFilters: number;
  /** How the decoder goes up one level. */
  upsampling: Upsampling;
  /** Seed (integer >= 0) for the weight initialisers, so the same seed gives the same weights. */
  seed: number;
  /** Model name. */
  name: string;
}

export const UNET2D_DEFAULTS: UNet2DConfig = {
  height: 128,
  width: 128,
  inChannels: 1,
  nClasses: 4,
  depth: 4,
  baseFilters: 16,
  upsampling: "transpose",
  seed: 0,
  name: "unet2d",
};

/** Fill in defaults and check the config; errors say which field is wrong. */
export function resolveUNet2DConfig(config: Partial<UNet2DConfig> = {}): UNet2DConfig {
  const c = { ...UNET2D_DEFAULTS, ...config };
  for (const key of ["height", "width", "inChannels", "nClasses", "depth", "baseFilters"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`UNet2D config: ${key} must be a positive integer, got ${c[key]}`);
  }
  const factor = 2 ** (c.depth - 1);
  if (c.height % factor !== 0 || c.width % factor !== 0) {
    throw new Error(`UNet2D config: height and width (${c.height}x${c.width}) must be divisible by 2^(depth-1) = ${factor}`);
  }
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`UNet2D config: seed must be an integer >= 0, got ${c.seed}`);
  if (c.upsampling !== "transpose" && c.upsampling !== "resize") throw new Error(`UNet2D config: upsampling must be "transpose" or "resize", got ${String(c.upsampling)}`);
  return c;
}

export { levelFilters };

/** Which part of the U-Net a layer (or weight, e.g. "enc0_conv1/kernel") belongs to. */
export function unetPart(name: string): "encoder" | "decoder" | "head" | "other" {
  if (/^enc\d+_/.test(name)) return "encoder";
  if (/^dec\d+_/.test(name)) return "decoder";
  if (/^head(\/|$)/.test(name)) return "head";
  return "other";
}

/** 2D layers: 3x3 convs, 2x2 pooling, a 2x2 stride-2 transposed conv or resize + 3x3 conv up. */
function layers2d(upsampling: Upsampling): UNetLayers {
  return {
    conv: (args) => tf.layers.conv2d({ ...args, padding: "same" }),
    pool: (name) => tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 }),
    up: (prefix, filters, init) =>
      upsampling === "transpose"
        ? [tf.layers.conv2dTranspose({ name: `${prefix}_up`, filters, kernelSize: 2, strides: 2, padding: "valid", kernelInitializer: init() })]
        : [
            tf.layers.upSampling2d({ name: `${prefix}_resize`, size: [2, 2] }),
            tf.layers.conv2d({ name: `${prefix}_up`, filters, kernelSize: 3, padding: "same", kernelInitializer: init() }),
          ],
  };
}

export function buildUNet2D(config: Partial<UNet2DConfig> = {}): tf.LayersModel {
  const c = resolveUNet2DConfig(config);
  return buildUNet({ ...c, inputShape: [c.height, c.width, c.inChannels] }, layers2d(c.upsampling));
}

/**
 * Trainable parameter count from the config alone (what buildUNet2D produces); the tests check it
 * against the built model, and the benchmark against PyTorch.
 */
export function unet2dParamCount(config: Partial<UNet2DConfig> = {}): number {
  const c = resolveUNet2DConfig(config);
  // 3x3 convs; up: 2x2 transposed conv or 3x3 conv
  return unetParamCount(c, 9, c.upsampling === "transpose" ? 4 : 9);
}
