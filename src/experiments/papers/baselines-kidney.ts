/**
 * Generic SSL baselines on the kidney CT data: rotation, Models Genesis, SimCLR and masked image
 * modelling pretrain the kidney paper's 2D U-Net on the segmentation-grid slices of every
 * non-test case (no labels; the kidney pretexts read their own sections of the same cases), with
 * the kidney pretext's steps and learning rate and the fine-tuning batch, then fine-tune exactly
 * as the kidney paper does (runKidneyCell: the encoder is transferred, for every pretext, as the
 * kidney paper does for its siamese branch), on its splits, budgets and seeds.
 */
import { buildUNet2D } from "../../models/unet2d.js";
import type { GenericHost } from "../../pretext/generic.js";
import { sliceSampler } from "../image-samplers.js";
import type { Paper } from "../protocol.js";
import { rule } from "../settings.js";
import { writeBaselinesReport } from "./baselines-report.js";
import { GENERIC_METHODS, genericPretexts, type GenericName } from "./baselines-generic.js";
import { KIDNEY_CHECKS, KIDNEY_FULL, KIDNEY_QUICK, KIDNEY_RULES, type KidneyConfig } from "./kidney-config.js";
import { loadKidneyData, runKidneyCell, type KidneyData } from "./kidney.js";

const NAMES: GenericName[] = ["rotation", "genesis", "simclr", "mim"];
const METHODS = NAMES.map((n) => GENERIC_METHODS[n]);

const HOST: GenericHost<KidneyConfig, KidneyData> = {
  network: (c) => ({
    dims: 2,
    shape: [c.grid.size, c.grid.size],
    depth: c.unet.depth,
    unet: (nOut, seed) => buildUNet2D({ height: c.grid.size, width: c.grid.size, inChannels: 1, nClasses: nOut, depth: c.unet.depth, baseFilters: c.unet.baseFilters, seed }),
  }),
  images: (_c, data) => sliceSampler(data.unlabelled, "baselines-kidney"),
  settings: (c) => ({ steps: c.pretrain.steps, learningRate: c.pretrain.learningRate, batch: c.batch }),
  dependsOn: (c, data) => ({ data: data.description, ct: c.ct, split: [c.labelledPool, c.validationSubjects, c.testSubjects, c.splitSeed], grid: c.grid, unet: c.unet, batch: c.batch }),
};

export const BASELINES_KIDNEY: Paper<KidneyConfig, KidneyData> = {
  name: "baselines-kidney",
  title: "Generic SSL baselines on the kidney CT data (the kidney paper's splits)",
  // No evaluated-only pretexts: those are the kidney paper's own ablations.
  full: { ...KIDNEY_FULL, methods: NAMES, pretrainOnly: [] },
  quick: { ...KIDNEY_QUICK, methods: NAMES, pretrainOnly: [] },
  methods: METHODS,
  baseline: "scratch",
  rules: { ...KIDNEY_RULES, methods: rule.subsetOf(NAMES), pretrainOnly: rule.optionalSubsetOf([]) },
  checks: KIDNEY_CHECKS,
  dataLoaders: ["kits19"],
  loadData: loadKidneyData,
  pretexts: genericPretexts(HOST, NAMES),
  runCell: runKidneyCell,
  writeReport: (input) => writeBaselinesReport(input, { title: "Generic SSL baselines on the kidney CT data", host: "the kidney-asymmetry paper ([results/kidney](../kidney/README.md))", methods: METHODS, labels: ["kidney", "tumor"], mainLabel: "kidney" }),
  notebook: "05-baselines",
};
