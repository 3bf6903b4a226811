/** Segmentation models. */
export { buildUNet2D, resolveUNet2DConfig, unet2dParamCount, unetPart, levelFilters, UNET2D_DEFAULTS } from "./unet2d.js";
export type { UNet2DConfig, Upsampling } from "./unet2d.js";
export { freezePart, trainableVariables, transferWeights, type TransferScope } from "./transfer.js";
