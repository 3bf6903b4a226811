/**
 * Evaluation metrics for segmentations (issue 4): Dice and confusion counts per class, HD95 and
 * ASSD in mm with anisotropic spacing, and the statistics used to report them over seeds and
 * subjects (mean, SD, t confidence interval, paired Wilcoxon signed-rank test, two-level
 * bootstrap over seeds and subjects). Each module's header states its empty-case conventions.
 */
export * from "./overlap.js";
export * from "./surface.js";
export * from "./stats.js";
export * from "./bootstrap.js";
export * from "./multiple-comparisons.js";
