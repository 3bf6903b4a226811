/**
 * Generic SSL baselines on the 3D abdominal CT data of PGL: rotation, Models Genesis and masked
 * image modelling pretrain PGL's 3D U-Net encoder on crops of the non-test volumes (no labels),
 * as many voxels per step as a PGL step sees (pairs x 2 views of the view shape), with PGL's
 * steps and learning rate, then fine-tune exactly as PGL's methods do (runPglCell: the encoder is
 * transferred), on its splits, budgets and seeds. The generic contrastive baseline here is PGL's
 * own global-only BYOL (method "global" in results/pgl), so SimCLR (2D) is not run again.
 */
import type { Volume } from "../../io/volume.js";
import { buildUNet3D } from "../../models/unet3d.js";
import type { GenericHost } from "../../pretext/generic.js";
import { cropSampler } from "../image-samplers.js";
import type { Paper } from "../protocol.js";
import { rule } from "../settings.js";
import type { SliceStack } from "../slice-stack.js";
import { writeBaselinesReport } from "./baselines-report.js";
import { GENERIC_METHODS, genericPretexts, type GenericName } from "./baselines-generic.js";
import { PGL_CHECKS, PGL_FULL, PGL_QUICK, PGL_RULES, type PglConfig } from "./pgl-config.js";
import { loadPglData, runPglCell, type PglData } from "./pgl.js";

const NAMES: GenericName[] = ["rotation", "genesis", "mim"];
const METHODS = NAMES.map((n) => GENERIC_METHODS[n]);

/** A grid volume (x, y, z with x fastest, as ct-volumes.ts stores it) read as a stack of axial slices. */
function asStack(v: Volume): SliceStack {
  const [nx, ny, nz] = v.shape;
  if (nx !== ny) throw new Error(`${v.source ?? "volume"}: ${nx}x${ny} slices are not square`);
  return { subject: v.source ?? "", phase: "CT", size: nx, slices: nz, image: v.data as Float32Array, grid: v };
}

/** Crops of the view shape (PGL's pretext input), depth first: [z, y, x]. */
const cropOf = (c: PglConfig): [number, number, number] => [c.views.shape[2], c.views.shape[1], c.views.shape[0]];

const HOST: GenericHost<PglConfig, PglData> = {
  network: (c) => {
    const [d, h, w] = cropOf(c);
    return { dims: 3, shape: [d, h, w], depth: c.unet.depth, unet: (nOut, seed) => buildUNet3D({ inDepth: d, height: h, width: w, inChannels: 1, nClasses: nOut, depth: c.unet.depth, baseFilters: c.unet.baseFilters, seed }) };
  },
  images: (c, data) => cropSampler(data.unlabelled.map(asStack), cropOf(c), "baselines-pgl"),
  settings: (c) => ({ steps: c.pretrain.steps, learningRate: c.pretrain.learningRate, batch: 2 * c.pairs }),
  dependsOn: (c, data) => ({ data: data.description, ct: c.ct, split: [c.labelledPool, c.validationSubjects, c.testSubjects, c.splitSeed], grid: c.grid, unet: c.unet, crop: cropOf(c), pairs: c.pairs }),
};

export const BASELINES_PGL: Paper<PglConfig, PglData> = {
  name: "baselines-pgl",
  title: "Generic SSL baselines on the 3D abdominal CT data (PGL's splits)",
  full: { ...PGL_FULL, methods: NAMES },
  quick: { ...PGL_QUICK, methods: NAMES },
  methods: METHODS,
  baseline: "scratch",
  rules: { ...PGL_RULES, methods: rule.subsetOf(NAMES) },
  checks: PGL_CHECKS,
  dataLoaders: ["btcv", "msd-ct"],
  loadData: loadPglData,
  pretexts: genericPretexts(HOST, NAMES),
  runCell: runPglCell,
  writeReport: (input) => writeBaselinesReport(input, { title: "Generic SSL baselines on the 3D abdominal CT data", host: "PGL ([results/pgl](../pgl/README.md))", methods: METHODS, labels: [...input.config.organs, "mean"], mainLabel: "mean" }),
  notebook: "05-baselines",
};
