/**
 * Real datasets behind one interface each (types.ts for cardiac MR, ct.ts for abdominal CT),
 * seeded subject splits, and data manifests (where a dataset comes from and whether a local copy
 * is complete). DATASET_LOADERS below are the cardiac loaders; CT loaders (Kits19Dataset,
 * BtcvDataset, MsdDataset, and readTotalSegmentatorCase for one labelled file) are opened directly.
 */
import { AcdcDataset } from "./acdc";
import { Mnms2Dataset } from "./mnms2";
import { SunnybrookDataset } from "./sunnybrook";
import type { CardiacDataset } from "./types";

export * from "./types";
export * from "./split";
export * from "./labels";
export * from "./polygon";
export * from "./mnms2";
export * from "./acdc";
export * from "./sunnybrook";
export * from "./manifest";
export * from "./ct";
export * from "./kits19";
export * from "./ct-files";
export * from "./btcv";
export * from "./msd";
export * from "./totalsegmentator";

/** Loaders by dataset name (the synthetic phantoms use the M&Ms-2 layout: open them as "mnms2"). */
export const DATASET_LOADERS: Record<string, (root: string) => CardiacDataset> = {
  mnms2: (root) => new Mnms2Dataset(root),
  acdc: (root) => new AcdcDataset(root),
  sunnybrook: (root) => new SunnybrookDataset(root),
};

/** Open a dataset folder with the loader for `name`. */
export function openDataset(name: string, root: string): CardiacDataset {
  const make = DATASET_LOADERS[name];
  if (!make) throw new Error(`no loader for dataset '${name}' (have: ${Object.keys(DATASET_LOADERS).join(", ")})`);
  return make(root);
}
