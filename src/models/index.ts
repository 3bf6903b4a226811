/** Segmentation models. */
export { buildUNet2D, resolveUNet2DConfig, unet2dParamCount, unetPart, levelFilters, UNET2D_DEFAULTS } from "./unet2d.js";
export type { UNet2DConfig, Upsampling } from "./unet2d.js";
export { freezePart, trainableVariables, transferWeights, type TransferScope } from "./transfer.js";
export { buildUNet3D, resolveUNet3DConfig, unet3dParamCount, UNET3D_DEFAULTS } from "./unet3d.js";
export type { UNet3DConfig } from "./unet3d.js";
export { BatchNorm, batchNorm, batchNormTraining, type BatchNormArgs } from "./batch-norm.js";
