/**
 * Opening the cardiac data a protocol runs on (the built-in phantoms or a real dataset with
 * --data) and splitting its subjects into labelled pool, validation, test and unlabelled. Shared
 * by the cardiac papers (Bai 2019, Zhang 2024), so they run on the same subjects and splits.
 */
import * as path from "node:path";
import { openDataset } from "../datasets/index.js";
import { splitSubjects } from "../datasets/split.js";
import type { CardiacDataset } from "../datasets/types.js";
import type { ExamOptions } from "../phantoms/cardiac/views.js";
import { projectRoot } from "../provenance.js";
import type { ProtocolConfig } from "./protocol.js";
import { ensureSyntheticCardiac } from "./synthetic-cardiac.js";

export interface CardiacDataConfig extends Pick<ProtocolConfig, "dataset" | "labelledPool" | "validationSubjects" | "testSubjects" | "splitSeed"> {
  /** Synthetic only: number of subjects generated, and how they are imaged. */
  syntheticSubjects: number;
  exam: ExamOptions;
}

export interface CardiacSplit {
  dataset: CardiacDataset;
  /** One line for the README: what the data was and where it came from. */
  description: string;
  split: { train: string[]; val: string[]; test: string[]; unused: string[] };
}

async function openData(config: CardiacDataConfig, dataDir: string | undefined): Promise<{ dataset: CardiacDataset; description: string }> {
  if (dataDir) {
    const loader = config.dataset === "synthetic" ? "mnms2" : config.dataset;
    return { dataset: openDataset(loader, dataDir), description: `${loader} at ${dataDir}` };
  }
  if (config.dataset !== "synthetic") throw new Error(`setting dataset = ${config.dataset}: a real dataset needs --data DIR`);
  const dir = await ensureSyntheticCardiac(config.syntheticSubjects, config.exam);
  return { dataset: openDataset("mnms2", dir), description: `${config.syntheticSubjects} synthetic subjects (phantoms/cardiac, ${config.exam.matrix}x${config.exam.matrix} at ${config.exam.pixel} mm) in ${path.relative(projectRoot(), dir)}` };
}

/** The dataset and its split; too few subjects is an error naming the folder and what it needs. */
export async function openCardiacSplit(config: CardiacDataConfig, dataDir?: string): Promise<CardiacSplit> {
  const { dataset, description } = await openData(config, dataDir);
  const ids = await dataset.listSubjects();
  const needed = config.labelledPool + config.validationSubjects + config.testSubjects;
  if (ids.length < needed) {
    throw new Error(
      `${dataset.root}: found ${ids.length} subject${ids.length === 1 ? "" : "s"} in the ${dataset.name} layout${ids.length ? ` (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", ..." : ""})` : ""}, ` +
        `but the protocol needs labelledPool + validationSubjects + testSubjects = ${config.labelledPool} + ${config.validationSubjects} + ${config.testSubjects} = ${needed}. ` +
        `Expected layout: see data-manifests/${dataset.name}.json (\`anatomy-ssl data verify ${dataset.name} ${dataset.root}\` checks a folder); or lower those settings with --set.`,
    );
  }
  const split = splitSubjects(ids, { counts: { train: config.labelledPool, val: config.validationSubjects, test: config.testSubjects } }, config.splitSeed);
  return { dataset, description, split };
}
