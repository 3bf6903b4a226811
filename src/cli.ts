#!/usr/bin/env node
/**
 * The `anatomy-ssl` command. Subcommands are thin: they parse arguments and call the library.
 */
import * as fs from "node:fs";
import { describeBackend, initBackend } from "./backend/index.js";
import { formatSummary, summarizeVolume } from "./io/summary.js";
import type { Volume } from "./io/volume.js";
import { gitCommit, machineInfo, packageVersions, projectRoot } from "./provenance.js";

const USAGE = `usage: anatomy-ssl <command> [options]

commands:
  info [PATH ...]   backend, package versions, machine; a summary of each NIfTI file or DICOM
                    folder given (default: a seeded demo volume made by the library)
  help              this text

environment:
  ANATOMY_SSL_BACKEND=node-gpu|node|wasm|cpu   force a tfjs backend (default: best available)
  ANATOMY_SSL_WASM_THREADS=N                   threads for the wasm backend`;

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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "info":
      await info(rest);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`anatomy-ssl: unknown command '${command}'\n\n${USAGE}`);
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
