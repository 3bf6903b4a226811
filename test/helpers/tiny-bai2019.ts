/**
 * bai2019 at the smallest scale the end-to-end tests run it (with --quick): 8 synthetic subjects
 * at 32x32, a 3-level U-Net with 4 base filters, 4 pretraining steps, at most 3 fine-tuning steps,
 * budgets 1 and 2, one seed: 8 cells (4 methods x 2 budgets) in seconds.
 */
export const TINY_SETTINGS = [
  "syntheticSubjects=8", "labelledPool=2", "validationSubjects=1", "testSubjects=2", "exam.matrix=32", "exam.pixel=5", "size=32", "pixel=5",
  "unet.depth=3", "unet.baseFilters=4", "batch=2", "pretrain.steps=4", "finetune.maxSteps=3", "finetune.validateEvery=1", "finetune.patience=1", "budgets=1,2", "seeds=1",
];

/** The settings as command-line arguments. */
export const TINY = TINY_SETTINGS.flatMap((s) => ["--set", s]);
