/**
 * The kidney-asymmetry paper's protocol settings (arXiv 2101.05456; public code
 * abhinavdhere/self-supervised-kits). Every field can be overridden (`--set key=value`) and is
 * validated before anything runs (KIDNEY_RULES).
 *
 * Where we differ from the authors' code, and why:
 * - 2D axial slices, not 3D patches: on 2 cores one siamese step of a 3D encoder on two 32^3
 *   crops costs several times a 2D step on two 32^2 sections (bench/README.md, kidney), and the
 *   protocol runs 5 seeds x 3 budgets x several methods; the question (does the side task teach
 *   the encoder kidney anatomy?) is posed the same way in 2D.
 * - Our U-Net's encoder (conv-BN-ReLU, max-pooling; 8 -> 64 filters) instead of their 3D encoder
 *   (20 -> 320 filters, group norm, strided convs), so the branch transfers by name.
 * - Sections are 32 x 32 pixels of 4.5 mm (144 mm): the segmentation grid's pixel size, so the
 *   encoder sees the same scale in both tasks. The label-free box sits 75 mm lateral and 10 mm
 *   anterior of the spine's centre: adult kidneys lie 2-3 cm lateral of the vertebral bodies,
 *   their hila about 5 cm from the midline, 10-12 cm long and 5-6 cm wide (their centres about
 *   7-8 cm lateral), so a 144 mm box there holds the kidney at any level it is present.
 * - The segmentation region of interest, 64 x 64 pixels of 4.5 mm (288 mm) centred 40 mm in
 *   front of the spine, is placed by the same label-free landmarks: it holds both kidneys and
 *   the organs around them, and keeps each step as cheap as the cardiac papers'.
 * - No augmentation anywhere, as the paper claims its gains need none.
 * - Fine-tuning draws a third of its slices among those holding kidney (nnU-Net's foreground
 *   oversampling): a kidney covers a few percent of the region and is absent from most slices.
 *   With the stopping rule's minSteps (below) this lets every method learn the kidney at all: a
 *   pilot without them stopped every method at step 125, settled on background.
 */
import type { Method, ProtocolConfig } from "../protocol.js";
import { rule, type Rules } from "../settings.js";

export const KIDNEY_METHODS: readonly Method[] = [
  { name: "scratch", label: "U-Net from scratch" },
  { name: "side-free", label: "same-side SSL, label-free sections (mirrored)", pretext: "side-free-mirrored" },
  { name: "side-labels", label: "same-side, kidney-mask crops (the authors' code; uses labels)", pretext: "side-labels" },
];

/** Every pretext variant: how sections are cut (mode) and whether the left side is mirrored. */
export const KIDNEY_PRETEXTS = {
  "side-free-mirrored": { mode: "label-free", mirror: true },
  "side-free-unmirrored": { mode: "label-free", mirror: false },
  "side-labels": { mode: "label-crop", mirror: false },
  "side-labels-mirrored": { mode: "label-crop", mirror: true },
} as const;
export type KidneyPretextName = keyof typeof KIDNEY_PRETEXTS;

export interface KidneyConfig extends ProtocolConfig {
  /** Synthetic only: cases generated (KiTS19 layout) and how they are scanned. */
  syntheticSubjects: number;
  ct: { matrix: number; pixelMm: number; sliceMm: number; slices: number; tumorProbability: number };
  /** Segmentation grid: the region of interest (see the file comment). */
  grid: { size: number; pixel: number; sliceMm: number; anteriorMm: number };
  /** Pretext sections: crop size, label-free box and its place, sections per side. */
  sections: { cropPx: number; boxMm: number; lateralMm: number; anteriorMm: number; perSide: number };
  unet: { depth: number; baseFilters: number };
  embedding: number;
  /** Contrastive margin; "same side" when the distance is below threshold (the authors: 1, 0.75). */
  margin: number;
  threshold: number;
  /** Pairs per pretraining step. */
  pairs: number;
  /** Pairs drawn from held-out (test) subjects to measure each pretext's accuracy. */
  heldOutPairs: number;
  /** Convergence: steps until validation Dice first reaches this fraction of scratch's best. */
  convergenceFraction: number;
  /** Share of fine-tuning slices drawn among those with kidney or tumour (nnU-Net: 1/3). */
  foregroundFraction: number;
}

export const KIDNEY_FULL: KidneyConfig = {
  dataset: "synthetic",
  syntheticSubjects: 60,
  ct: { matrix: 128, pixelMm: 3, sliceMm: 3, slices: 64, tumorProbability: 0.5 },
  labelledPool: 10,
  validationSubjects: 5,
  testSubjects: 15,
  splitSeed: 0,
  grid: { size: 64, pixel: 4.5, sliceMm: 3, anteriorMm: 40 },
  sections: { cropPx: 32, boxMm: 144, lateralMm: 75, anteriorMm: 10, perSide: 16 },
  unet: { depth: 4, baseFilters: 8 },
  embedding: 32,
  margin: 1,
  threshold: 0.75,
  batch: 8,
  pairs: 16,
  heldOutPairs: 2000,
  pretrain: { steps: 400, learningRate: 1e-3 },
  // A pilot (scratch, 3 cases) learned the kidney only after ~150 steps, first predicting too
  // much, then only background: validations up to step 200 do not count against the patience.
  finetune: { maxSteps: 600, learningRate: 1e-3, validateEvery: 25, patience: 4, minDelta: 0.005, minSteps: 200 },
  budgets: [1, 3, 10],
  seeds: [1, 2, 3, 4, 5],
  methods: KIDNEY_METHODS.map((m) => m.name),
  // The two mirroring choices the fine-tuned methods do not use: pretrained for their held-out accuracy.
  pretrainOnly: ["side-free-unmirrored", "side-labels-mirrored"],
  convergenceFraction: 0.9,
  foregroundFraction: 1 / 3,
};

/** --quick: the same protocol shrunk to a few minutes (a smoke test, not a result). */
export const KIDNEY_QUICK: KidneyConfig = {
  ...KIDNEY_FULL,
  syntheticSubjects: 16,
  labelledPool: 3,
  validationSubjects: 2,
  testSubjects: 4,
  pretrain: { ...KIDNEY_FULL.pretrain, steps: 60 },
  finetune: { ...KIDNEY_FULL.finetune, maxSteps: 60, validateEvery: 20, patience: 2, minSteps: 0 },
  heldOutPairs: 400,
  budgets: [1, 3],
  seeds: [1],
};

export const KIDNEY_RULES: Rules = {
  dataset: rule.oneOf(["synthetic", "kits19"]),
  syntheticSubjects: rule.int(3),
  "ct.matrix": rule.int(16, 1024),
  "ct.pixelMm": rule.positive(),
  "ct.sliceMm": rule.positive(),
  "ct.slices": rule.int(4, 2048),
  "ct.tumorProbability": rule.range(0, 1),
  "grid.size": rule.int(8, 512),
  "grid.pixel": rule.positive(),
  "grid.sliceMm": rule.positive(),
  "grid.anteriorMm": rule.range(-300, 300),
  "sections.cropPx": rule.int(8, 256),
  "sections.boxMm": rule.positive(),
  "sections.lateralMm": rule.range(0, 300),
  "sections.anteriorMm": rule.range(-300, 300),
  "sections.perSide": rule.int(1, 512),
  "unet.depth": rule.int(2, 6),
  "unet.baseFilters": rule.int(1, 256),
  embedding: rule.int(1, 4096),
  margin: rule.positive(),
  threshold: rule.positive(),
  pairs: rule.int(1),
  heldOutPairs: rule.int(1),
  convergenceFraction: rule.range(0, 1),
  foregroundFraction: rule.range(0, 1),
  // Optional in the shared protocol (absent: 0); this paper always sets it.
  "finetune.minSteps": rule.int(0),
  methods: rule.subsetOf(KIDNEY_METHODS.map((m) => m.name)),
  pretrainOnly: rule.optionalSubsetOf(Object.keys(KIDNEY_PRETEXTS)),
};

export const KIDNEY_CHECKS = [
  (c: KidneyConfig): string[] =>
    [["grid.size", c.grid.size], ["sections.cropPx", c.sections.cropPx]]
      .filter(([, v]) => (v as number) % 2 ** (c.unet.depth - 1) !== 0)
      .map(([k, v]) => `setting ${k} = ${v}: must be divisible by 2^(unet.depth-1) = ${2 ** (c.unet.depth - 1)} (unet.depth = ${c.unet.depth})`),
  (c: KidneyConfig): string[] => {
    const needed = c.labelledPool + c.validationSubjects + c.testSubjects;
    return c.dataset === "synthetic" && c.syntheticSubjects < needed ? [`setting syntheticSubjects = ${c.syntheticSubjects}: must be >= labelledPool + validationSubjects + testSubjects = ${needed}`] : [];
  },
];
