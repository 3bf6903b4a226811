/**
 * A configurable 3D U-Net (Cicek et al. 2016 shape), the 3D twin of ./unet2d.ts, built with the
 * tf.layers functional API. It is the network PGL (Xie et al. 2020) pretrains.
 *
 * Input [D, H, W, C] (channels last; a batch is [B, D, H, W, C]). Level l (0 = full resolution)
 * has baseFilters * 2^l channels. Each level runs two conv3x3x3('same', no bias) -> BatchNorm ->
 * ReLU blocks; the encoder max-pools 2x2x2 between levels, the deepest level is the bottleneck,
 * and the decoder upsamples by a 2x2x2 stride-2 transposed conv (with bias), concatenates the
 * encoder's skip and runs its own two blocks. A 1x1x1 conv (with bias) gives per-voxel class
 * logits (no softmax: losses take logits).
 *
 * Layer names are those of the 2D U-Net, so transfer-by-name (./transfer.ts) and unetPart() work
 * unchanged:
 *   enc{l}_conv{1,2}, enc{l}_bn{1,2}, enc{l}_relu{1,2}, enc{l}_pool   encoder, l = 0..depth-1
 *                                                                    (enc{depth-1} is the bottleneck)
 *   dec{l}_up, dec{l}_concat, dec{l}_conv{1,2}, dec{l}_bn{1,2}, ...   decoder, l = depth-2..0
 *   head                                                             1x1x1 conv to logits
 *
 * Defaults (UNET3D_DEFAULTS) are the 3D reference of bench/train-step.ts: 64^3 x 1 input, 3 levels,
 * 8 base filters, 2 classes (foreground/background: 85,186 trainable parameters). `depth` is the
 * number of levels, as in UNet2DConfig; the input's depth axis is `inDepth`.
 *
 * BN (./batch-norm.ts, rank 5 supported) uses PyTorch's epsilon and momentum, and the convs
 * before it have no bias, so the network matches the usual PyTorch 3D U-Net parameter for
 * parameter (bench/train_step_torch.py --dims 3 is that twin).
 *
 * tfjs-core has no gradient for conv3dTranspose's op; importing this module registers one
 * (../backend/kernels/conv3d-transpose-gradient.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { registerConv3dTransposeGradient } from "../backend/kernels/conv3d-transpose-gradient.js";
import { buildUNet, unetParamCount, type UNetLayers } from "./unet.js";

registerConv3dTransposeGradient();

export interface UNet3DConfig {
  /** Input size along depth, height and width; each must be divisible by 2^(depth-1). */
  inDepth: number;
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
  /** Seed (integer >= 0) for the weight initialisers, so the same seed gives the same weights. */
  seed: number;
  /** Model name. */
  name: string;
  /** Prepended to every layer name (see UNetShape.namePrefix). */
  namePrefix?: string;
}

export const UNET3D_DEFAULTS: UNet3DConfig = {
  inDepth: 64,
  height: 64,
  width: 64,
  inChannels: 1,
  nClasses: 2,
  depth: 3,
  baseFilters: 8,
  seed: 0,
  name: "unet3d",
};

/** Fill in defaults and check the config; errors say which field is wrong. */
export function resolveUNet3DConfig(config: Partial<UNet3DConfig> = {}): UNet3DConfig {
  const c = { ...UNET3D_DEFAULTS, ...config };
  for (const key of ["inDepth", "height", "width", "inChannels", "nClasses", "depth", "baseFilters"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`UNet3D config: ${key} must be a positive integer, got ${c[key]}`);
  }
  const factor = 2 ** (c.depth - 1);
  if (c.inDepth % factor !== 0 || c.height % factor !== 0 || c.width % factor !== 0) {
    throw new Error(`UNet3D config: inDepth, height and width (${c.inDepth}x${c.height}x${c.width}) must be divisible by 2^(depth-1) = ${factor}`);
  }
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`UNet3D config: seed must be an integer >= 0, got ${c.seed}`);
  return c;
}

/** 3D layers: 3x3x3 convs, 2x2x2 pooling, a 2x2x2 stride-2 transposed conv up. */
const LAYERS_3D: UNetLayers = {
  conv: (args) => tf.layers.conv3d({ ...args, padding: "same" }),
  pool: (name) => tf.layers.maxPooling3d({ name, poolSize: 2, strides: 2 }),
  up: (prefix, filters, init) => [
    tf.layers.conv3dTranspose({ name: `${prefix}_up`, filters, kernelSize: 2, strides: 2, padding: "valid", kernelInitializer: init() }),
  ],
};

export function buildUNet3D(config: Partial<UNet3DConfig> = {}): tf.LayersModel {
  const c = resolveUNet3DConfig(config);
  return buildUNet({ ...c, inputShape: [c.inDepth, c.height, c.width, c.inChannels] }, LAYERS_3D);
}

/**
 * Trainable parameter count from the config alone (what buildUNet3D produces); the tests check it
 * against the built model, and the benchmark against PyTorch.
 */
export function unet3dParamCount(config: Partial<UNet3DConfig> = {}): number {
  // 3x3x3 convs; up: 2x2x2 transposed conv
  return unetParamCount(resolveUNet3DConfig(config), 27, 8);
}
