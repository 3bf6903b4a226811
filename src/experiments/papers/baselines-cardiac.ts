/**
 * Generic SSL baselines on the cardiac data: rotation, Models Genesis, SimCLR and masked image
 * modelling pretrain Bai 2019's U-Net on the same unlabelled non-test SA slices as Bai's own
 * pretext, with the same steps, learning rate and batch, then fine-tune exactly as Bai's SSL+All
 * (runBai2019Cell: everything the pretext trained is transferred, encoder and decoder for
 * restoration and masked images, the encoder for rotation and SimCLR), on Bai's splits, budgets
 * and seeds. The leaderboard sets them beside scratch, Bai's and Zhang's pretexts.
 */
import type { GenericHost } from "../../pretext/generic.js";
import { sliceSampler } from "../image-samplers.js";
import type { Paper } from "../protocol.js";
import { rule } from "../settings.js";
import { BAI2019_CHECKS, BAI2019_FULL, BAI2019_QUICK, BAI2019_RULES, type Bai2019Config } from "./bai2019-config.js";
import { cardiacUNet, loadBai2019Data, runBai2019Cell, type Bai2019Data } from "./bai2019.js";
import { writeBaselinesReport } from "./baselines-report.js";
import { GENERIC_METHODS, genericPretexts, type GenericName } from "./baselines-generic.js";

const NAMES: GenericName[] = ["rotation", "genesis", "simclr", "mim"];
const METHODS = NAMES.map((n) => GENERIC_METHODS[n]);

const HOST: GenericHost<Bai2019Config, Bai2019Data> = {
  network: (c) => ({ dims: 2, shape: [c.size, c.size], depth: c.unet.depth, unet: (nOut, seed) => cardiacUNet(c, nOut, seed) }),
  images: (_c, data) => sliceSampler(data.pretext, "baselines-cardiac"),
  settings: (c) => ({ steps: c.pretrain.steps, learningRate: c.pretrain.learningRate, batch: c.batch }),
  dependsOn: (c, data) => ({ data: data.description, exam: c.exam, split: [c.labelledPool, c.validationSubjects, c.testSubjects, c.splitSeed], size: c.size, pixel: c.pixel, unet: c.unet }),
};

export const BASELINES_CARDIAC: Paper<Bai2019Config, Bai2019Data> = {
  name: "baselines-cardiac",
  title: "Generic SSL baselines on the cardiac data (Bai 2019's splits)",
  full: { ...BAI2019_FULL, methods: NAMES },
  quick: { ...BAI2019_QUICK, methods: NAMES },
  methods: METHODS,
  baseline: "scratch",
  rules: { ...BAI2019_RULES, methods: rule.subsetOf(NAMES) },
  checks: BAI2019_CHECKS,
  dataLoaders: ["mnms2", "acdc"],
  loadData: loadBai2019Data,
  pretexts: genericPretexts(HOST, NAMES),
  runCell: runBai2019Cell,
  writeReport: (input) => writeBaselinesReport(input, { title: "Generic SSL baselines on the cardiac data", host: "Bai 2019 ([results/bai2019](../bai2019/README.md))", methods: METHODS, labels: ["LV", "MYO", "RV", "mean"], mainLabel: "mean" }),
  notebook: "05-baselines",
};
