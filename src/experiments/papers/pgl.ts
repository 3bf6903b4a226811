/**
 * PGL (Xie et al. 2020) on the shared protocol, the first paper in 3D: pretrain a 3D encoder on
 * pairs of augmented views of unlabelled abdominal CTs with a global (BYOL) and a voxel-wise local
 * consistency term (pretext/local-consistency.ts), move the online encoder into a 3D U-Net,
 * fine-tune multi-organ segmentation with few labelled cases, and compare random
 * initialisation, global-only, local-only and PGL per organ.
 *
 * The built-in data are synthetic abdominal CTs written in the BTCV layout and read back by the
 * BTCV loader real data goes through (`--data DIR`: BTCV, or an MSD task with --set dataset=msd-ct).
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BtcvDataset } from "../../datasets/btcv.js";
import type { CtDataset } from "../../datasets/ct.js";
import { MsdDataset } from "../../datasets/msd.js";
import { splitSubjects } from "../../datasets/split.js";
import type { Volume } from "../../io/volume.js";
import { dicePerClass } from "../../metrics/overlap.js";
import { transferWeights } from "../../models/transfer.js";
import { buildUNet3D } from "../../models/unet3d.js";
import { buildPglModel, emaUpdate, pglLoss, sampleViewPairs, unitRows, type LocalConsistencyConfig } from "../../pretext/local-consistency.js";
import { projectRoot } from "../../provenance.js";
import { Random } from "../../random.js";
import { segmentationLoss } from "../../train/losses.js";
import { Progress } from "../../train/progress.js";
import { train, type Batch } from "../../train/trainer.js";
import { correspondence, drawView, featureGrid, renderView } from "../../transforms/views3d.js";
import { organClasses, predictVolume, prepareCtVolume, stackVolume } from "../ct-volumes.js";
import type { CellInput, CellOutput, Paper, Pretext, ProtocolData } from "../protocol.js";
import { scoreStack } from "../segmentation-eval.js";
import type { SliceStack } from "../slice-stack.js";
import { ensureSyntheticBtcv } from "../synthetic-btcv.js";
import { writePglReport } from "./pgl-report.js";
import { PGL_CHECKS, PGL_FULL, PGL_METHODS, PGL_PRETEXTS, PGL_QUICK, PGL_RULES, type PglConfig, type PglPretextName } from "./pgl-config.js";

export const PAPER = "pgl";

export interface PglData extends ProtocolData<SliceStack> {
  /** Every non-test case on the training grid: the pretraining volumes (labels unused). */
  unlabelled: Volume[];
  /** The test cases' volumes: held out, only to measure whether features find their partners. */
  heldOut: Volume[];
}

async function openData(config: PglConfig, dataDir?: string): Promise<{ dataset: CtDataset; description: string }> {
  if (dataDir) return config.dataset === "msd-ct" ? { dataset: new MsdDataset(dataDir), description: `MSD task at ${dataDir}` } : { dataset: new BtcvDataset(dataDir), description: `BTCV at ${dataDir}` };
  if (config.dataset !== "synthetic") throw new Error(`setting dataset = ${config.dataset}: a real dataset needs --data DIR`);
  const dir = await ensureSyntheticBtcv(config.syntheticSubjects, config.ct);
  const c = config.ct;
  return { dataset: new BtcvDataset(dir), description: `${config.syntheticSubjects} synthetic abdominal CTs (phantoms/abdomen, ${c.matrix}x${c.matrix}x${c.slices} at ${c.pixelMm}x${c.pixelMm}x${c.sliceMm} mm, no tumour) in the BTCV layout in ${path.relative(projectRoot(), dir)}` };
}

export async function loadPglData(config: PglConfig, dataDir?: string): Promise<PglData> {
  const { dataset, description } = await openData(config, dataDir);
  const ids = await dataset.listCases();
  const needed = config.labelledPool + config.validationSubjects + config.testSubjects;
  if (ids.length < needed) throw new Error(`${dataset.root}: found ${ids.length} labelled case(s), but the protocol needs labelledPool + validationSubjects + testSubjects = ${needed}; lower those settings with --set`);
  const split = splitSubjects(ids, { counts: { train: config.labelledPool, val: config.validationSubjects, test: config.testSubjects } }, config.splitSeed);
  const data: PglData = { pool: [], validation: [], test: [], unlabelled: [], heldOut: [], description };
  const progress = new Progress("loading cases", ids.length);
  let loaded = 0;
  const roles: [string, "pool" | "validation" | "test" | "unlabelled"][] = [
    ...split.train.map((id) => [id, "pool"] as [string, "pool"]),
    ...split.val.map((id) => [id, "validation"] as [string, "validation"]),
    ...split.test.map((id) => [id, "test"] as [string, "test"]),
    ...split.unused.map((id) => [id, "unlabelled"] as [string, "unlabelled"]),
  ];
  for (const [id, role] of roles) {
    const labelled = role !== "unlabelled";
    const c = await dataset.loadCase(id, { image: true, labels: labelled });
    const where = `${dataset.root} case ${id}`;
    const classes = labelled ? organClasses(c.labels as Volume<Uint8Array>, c.labelNames, config.organs, where) : undefined;
    const stack = prepareCtVolume(id, c.image as Volume, classes, config.grid);
    if (role === "pool") data.pool.push({ id, items: [stack] });
    else if (role === "validation" || role === "test") data[role].push(stack);
    (role === "test" ? data.heldOut : data.unlabelled).push(stackVolume(stack));
    progress.update(++loaded);
  }
  return data;
}

const lcConfig = (config: PglConfig, name: PglPretextName): LocalConsistencyConfig => ({ depth: config.unet.depth, baseFilters: config.unet.baseFilters, ...config.pgl, weights: { ...PGL_PRETEXTS[name] } });

/**
 * Does a voxel's feature find its partner in the other view? For pairs of views of held-out
 * volumes, every voxel of view a that view b also shows is matched to the b voxel of highest
 * cosine similarity (online encoder features at `level`, before any head); it counts as found
 * when that is b's voxel nearest to the same point. Chance is 1 / (voxels of b).
 */
export function featureMatchAccuracy(model: tf.LayersModel, volumes: Volume[], config: PglConfig, level: number, pairs: number, seed: number): number {
  const encoder = tf.model({ inputs: model.inputs[0], outputs: model.getLayer(`enc${level}_relu2`).output as tf.SymbolicTensor });
  const rng = new Random(700001 + seed);
  let found = 0;
  let total = 0;
  for (let p = 0; p < pairs; p++) {
    const v = volumes[p % volumes.length];
    const a = drawView(v, config.views, rng);
    const b = drawView(v, config.views, rng);
    const c = correspondence(featureGrid(a, level), featureGrid(b, level));
    if (c.count === 0) continue;
    const [nx, ny, nz] = config.views.shape;
    const best = tf.tidy(() => {
      const x = tf.tensor5d(Float32Array.from([...(renderView(v, a, "linear").data as Float32Array), ...(renderView(v, b, "linear").data as Float32Array)]), [2, nz, ny, nx, 1]);
      const f = encoder.predict(x) as tf.Tensor5D;
      const channels = f.shape[4];
      const fa = unitRows(tf.gather(f.slice([0, 0, 0, 0, 0], [1, -1, -1, -1, -1]).reshape([-1, channels]), tf.tensor1d(c.indexA.subarray(0, c.count), "int32")) as tf.Tensor2D);
      const fb = unitRows(f.slice([1, 0, 0, 0, 0], [1, -1, -1, -1, -1]).reshape([-1, channels]) as tf.Tensor2D);
      return tf.argMax(tf.matMul(fa, fb, false, true), 1);
    });
    const argmax = best.dataSync();
    best.dispose();
    for (let i = 0; i < c.count; i++) {
      // The partner: the corner with the largest trilinear weight (the nearest voxel centre).
      let k = 0;
      for (let j = 1; j < 8; j++) if (c.weights[8 * i + j] > c.weights[8 * i + k]) k = j;
      if (argmax[i] === c.corners[8 * i + k]) found++;
    }
    total += c.count;
  }
  return total > 0 ? found / total : NaN;
}

function consistencyPretext(name: PglPretextName): Pretext<PglConfig, PglData> {
  return {
    name,
    // `network` names a change of the pretext's code that changes its weights (v2: seeded heads).
    dependsOn: (config, data) => ({ network: "pgl-v2", data: data.description, ct: config.ct, split: [config.labelledPool, config.validationSubjects, config.testSubjects, config.splitSeed], grid: config.grid, unet: config.unet, views: config.views, pgl: config.pgl, weights: PGL_PRETEXTS[name], pairs: config.pairs, pretrain: config.pretrain }),
    model: (config, seed) => buildPglModel(lcConfig(config, name), config.views.shape, seed),
    train: (config, data, model, seed, checkpointFile) => {
      const lc = lcConfig(config, name);
      return train(
        {
          model,
          // The target follows the online weights after every step; step s applies step s-1's
          // update before drawing its batch (so a resumed run applies it exactly once).
          sample: (rng, step): Batch => {
            if (step > 0) emaUpdate(model, lc.ema);
            return sampleViewPairs(data.unlabelled, config.pairs, config.views, lc.levels, rng);
          },
          loss: (b, log) => pglLoss(model, b, lc, log),
        },
        { steps: config.pretrain.steps, learningRate: config.pretrain.learningRate, seed: 104729 + seed, checkpointFile, checkpointEvery: 50, label: `pretrain ${name} (seed ${seed})` },
      );
    },
    evaluate: async (config, data, model, seed) => {
      const out: Record<string, number> = {};
      const init = buildPglModel(lcConfig(config, name), config.views.shape, seed);
      for (const l of config.pgl.levels) {
        out[`match_level${l}`] = featureMatchAccuracy(model, data.heldOut, config, l, config.heldOutPairs, seed);
        // The same network before pretraining: how much a random encoder already matches.
        out[`match_level${l}_init`] = featureMatchAccuracy(init, data.heldOut, config, l, config.heldOutPairs, seed);
      }
      init.dispose();
      return out;
    },
  };
}

const organValues = (config: PglConfig) => config.organs.map((_, k) => k + 1);

/** Mean organ Dice over validation cases: the stopping rule's score. */
function meanOrganDice(model: tf.LayersModel, cases: SliceStack[], config: PglConfig): number {
  let sum = 0;
  for (const s of cases) {
    const dice = dicePerClass(predictVolume(model, s), s.labels!, organValues(config));
    sum += dice.reduce((a, b) => a + b, 0) / dice.length;
  }
  return sum / cases.length;
}

export async function runPglCell({ config, data, budget, seed, labelled, pretrained, trainOptions }: CellInput<PglConfig, PglData>): Promise<CellOutput> {
  const g = config.grid;
  // Same initialisation for every method at a (budget, seed); only the encoder differs.
  const model = buildUNet3D({ inDepth: g.slices, height: g.size, width: g.size, inChannels: 1, nClasses: config.organs.length + 1, depth: config.unet.depth, baseFilters: config.unet.baseFilters, seed: 1000 * seed + budget });
  if (pretrained) transferWeights(pretrained, model, "encoder");
  const cases = labelled.flatMap((s) => s.items as SliceStack[]);
  const perStep = Math.min(config.batch, cases.length);
  const voxels = g.size * g.size * g.slices;
  const result = await train(
    {
      model,
      validate: async () => meanOrganDice(model, data.validation, config),
      // `perStep` distinct labelled cases per step, whole volumes.
      sample: (rng) => {
        const chosen = rng.shuffle(cases).slice(0, perStep);
        const x = new Float32Array(perStep * voxels);
        const y = new Int32Array(perStep * voxels);
        chosen.forEach((s, i) => {
          x.set(s.image, i * voxels);
          y.set(s.labels!, i * voxels);
        });
        return { x: tf.tensor5d(x, [perStep, g.slices, g.size, g.size, 1]), labels: tf.tensor4d(y, [perStep, g.slices, g.size, g.size], "int32") };
      },
      loss: (b) => segmentationLoss("ce+dice", model.apply(b.x, { training: true }) as tf.Tensor, b.labels),
    },
    trainOptions,
  );
  const classes = { values: organValues(config), names: config.organs };
  const rows: CellOutput["rows"] = [];
  for (const s of data.test) rows.push(...scoreStack(predictVolume(model, s), s, classes));
  return { model, train: result, rows };
}

export const PGL: Paper<PglConfig, PglData> = {
  name: PAPER,
  title: "PGL (Xie et al. 2020): prior-guided local self-supervised learning, 3D multi-organ CT",
  full: PGL_FULL,
  quick: PGL_QUICK,
  methods: PGL_METHODS,
  baseline: "scratch",
  rules: PGL_RULES,
  checks: PGL_CHECKS,
  dataLoaders: ["btcv", "msd-ct"],
  loadData: loadPglData,
  pretexts: (Object.keys(PGL_PRETEXTS) as PglPretextName[]).map(consistencyPretext),
  runCell: runPglCell,
  writeReport: writePglReport,
  // PGL against random init at the smallest budget, on the mean over organs.
  notebook: "04-pgl-local-consistency",
  spotCheck: {
    methods: ["scratch", "pgl"],
    budget: 1,
    label: "mean",
    paperSays: "PGL beats random init and global-only SSL on every dataset (qualitative; BTCV, MSD, KiTS, LiTS).",
  },
};
