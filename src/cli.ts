#!/usr/bin/env node
/**
 * The `anatomy-ssl` command. Subcommands are thin: they parse arguments and call the library.
 */
import * as fs from "node:fs";
import { describeBackend, initBackend } from "./backend/index.js";
import { formatSummary, summarizeVolume } from "./io/summary.js";
import type { Volume } from "./io/volume.js";
import { gitCommit, machineInfo, packageVersions, projectRoot } from "./provenance.js";

const usage = (papers: string) => `usage: anatomy-ssl <command> [options]

commands:
  info [PATH ...]   backend, package versions, machine; a summary of each NIfTI file or DICOM
                    folder given (default: a seeded demo volume made by the library)
  reproduce PAPER|all [--quick] [--data DIR] [--out DIR] [--set KEY=VALUE ...] [--fresh]
                    run a paper's protocol and write results/PAPER/ (papers: ${papers}).
                    --quick: a few-minute smoke run into results/PAPER-quick/. --data: a real
                    dataset folder (e.g. M&Ms-2 layout) instead of the built-in phantoms,
                    written to results/PAPER-LOADER/. --set: override any protocol setting
                    (e.g. --set finetune.maxSteps=300 --set budgets=1,5); every setting is
                    checked before anything runs. Rerunning resumes; --fresh discards earlier
                    cells (on committed results only with --replace-committed).
  data list         the real datasets described in data-manifests/ (source, license, size)
  data verify DATASET DIR [--all]
                    check a local copy of a dataset: missing files, checksums, layout
  help              this text

environment:
  ANATOMY_SSL_BACKEND=node-gpu|node|wasm|cpu   force a tfjs backend (default: best available)
  ANATOMY_SSL_WASM_THREADS=N                   threads for the wasm backend`;

async function usageText(): Promise<string> {
  const { PAPERS } = await import("./experiments/registry.js");
  return usage(PAPERS.map((p) => p.name).join(", "));
}

async function loadAny(p: string): Promise<Volume> {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such file or folder`);
  if (fs.statSync(p).isDirectory()) {
    const { readDicomFolder } = await import("./io/dicom.js");
    return readDicomFolder(p);
  }
  const { readNifti } = await import("./io/nifti.js");
  return readNifti(p);
}

async function info(paths: string[]): Promise<void> {
  const pkg = JSON.parse(fs.readFileSync(`${projectRoot()}/package.json`, "utf8")) as { version: string };
  const backend = await initBackend({ quiet: true });
  const m = machineInfo();
  console.log(`anatomy-ssl ${pkg.version} (git ${gitCommit()})`);
  console.log(`backend: ${describeBackend(backend)}`);
  for (const why of backend.skipped) console.log(`  not used: ${why}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}`);
  console.log("packages:");
  for (const [name, version] of Object.entries(packageVersions())) console.log(`  ${name} ${version}`);
  const volumes: Volume[] = [];
  if (paths.length === 0) {
    const { demoVolume } = await import("./phantoms/demo.js");
    const demo = demoVolume();
    volumes.push(demo.image, demo.labels);
  } else {
    for (const p of paths) volumes.push(await loadAny(p));
  }
  for (const v of volumes) console.log(formatSummary(summarizeVolume(v)));
}

async function reproduceCommand(args: string[]): Promise<number> {
  const [paper, ...rest] = args;
  const { PAPERS } = await import("./experiments/registry.js");
  if (!paper || paper.startsWith("-")) throw new Error(`reproduce: name a paper (${PAPERS.map((p) => p.name).join(", ")}) or all`);
  const options: { quick: boolean; fresh: boolean; replaceCommitted: boolean; dataDir?: string; outDir?: string; overrides: string[] } = { quick: false, fresh: false, replaceCommitted: false, overrides: [] };
  for (let i = 0; i < rest.length; i++) {
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`reproduce: ${rest[i - 1]} needs a value`);
      return v;
    };
    switch (rest[i]) {
      case "--quick":
        options.quick = true;
        break;
      case "--fresh":
        options.fresh = true;
        break;
      case "--replace-committed":
        options.replaceCommitted = true;
        break;
      case "--data":
        options.dataDir = value();
        break;
      case "--out":
        options.outDir = value();
        break;
      case "--set":
        options.overrides.push(value());
        break;
      default:
        throw new Error(`reproduce: unknown option ${rest[i]}`);
    }
  }
  const { reproduce } = await import("./experiments/reproduce.js");
  if (paper === "all" && (options.dataDir || options.outDir)) throw new Error("reproduce all: --data and --out name one paper's data and folder; run one paper at a time");
  for (const p of paper === "all" ? PAPERS.map((x) => x.name) : [paper]) {
    const { outDir, files } = await reproduce(p, options);
    console.log(`wrote ${outDir}: ${files.join(", ")}`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "info":
      await info(rest);
      return 0;
    case "data":
      return (await import("./datasets/command.js")).dataCommand(rest);
    case "reproduce":
      return reproduceCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(await usageText());
      return command === undefined ? 1 : 0;
    default:
      console.error(`anatomy-ssl: unknown command '${command}'\n\n${await usageText()}`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`anatomy-ssl: ${e.message}`);
      process.exit(1);
    },
  );
}
