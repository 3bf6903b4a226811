/**
 * `anatomy-ssl reproduce <paper>`: run a paper's protocol into results/<paper>/ and write its
 * tables, figures and README from the results store. Rerunning resumes: finished cells are kept.
 * A store made with a different configuration is never mixed with new cells: the run stops and
 * says so (use --fresh to start over, or --out for another folder).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describeBackend, initBackend } from "../backend/index.js";
import { gitCommit, machineInfo, packageVersions, projectRoot } from "../provenance.js";
import { applyOverrides } from "./config.js";
import { runBai2019 } from "./papers/bai2019.js";
import { BAI2019_FULL, BAI2019_QUICK } from "./papers/bai2019-config.js";
import { writeBai2019Report } from "./papers/bai2019-report.js";
import { ResultsStore } from "./results.js";

export interface ReproduceOptions {
  quick?: boolean;
  dataDir?: string;
  outDir?: string;
  overrides?: string[];
  fresh?: boolean;
}

export const PAPERS = ["bai2019"] as const;

export async function reproduce(paper: string, options: ReproduceOptions = {}): Promise<{ outDir: string; files: string[] }> {
  if (paper !== "bai2019") throw new Error(`unknown paper '${paper}' (available: ${PAPERS.join(", ")})`);
  const started = new Date();
  const overrides = options.overrides ?? [];
  const config = applyOverrides(options.quick ? BAI2019_QUICK : BAI2019_FULL, overrides);
  const outDir = path.resolve(options.outDir ?? path.join(projectRoot(), "results", options.quick ? `${paper}-quick` : paper));
  const store = new ResultsStore(path.join(outDir, "rows.jsonl"));
  const configFile = path.join(outDir, "config.json");
  const configText = JSON.stringify({ paper, quick: Boolean(options.quick), dataDir: options.dataDir ?? null, config }, null, 2) + "\n";
  if (options.fresh) {
    // a fresh run starts its own history: earlier invocations' wall times do not add up into it
    for (const file of [store.file, configFile, path.join(outDir, "run.json")]) fs.rmSync(file, { force: true });
  }
  if (fs.existsSync(configFile) && fs.readFileSync(configFile, "utf8") !== configText) {
    throw new Error(`${configFile}: the results there were made with another configuration; rerun with --fresh to replace them, or --out DIR`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(configFile, configText);

  const backend = await initBackend();
  const { data, summary } = await runBai2019(config, store, { dataDir: options.dataDir, fresh: options.fresh });
  const { rows, cells } = store.load();
  const finished = new Date();
  // A resumed run is several invocations: keep them all, so the README states the total time.
  const invocation = { started: started.toISOString(), finished: finished.toISOString(), wallSeconds: (finished.getTime() - started.getTime()) / 1000, gitCommit: gitCommit(), ...summary };
  const invocations = [...previousInvocations(path.join(outDir, "run.json")), invocation];
  const runInfo = {
    paper,
    quick: Boolean(options.quick),
    overrides,
    data: data.dataDescription,
    wallSeconds: invocations.reduce((t, i) => t + i.wallSeconds, 0),
    invocations,
    cellSeconds: [...cells.values()].map((c) => ({ method: c.method, budget: c.budget, seed: c.seed, seconds: Math.round(c.seconds * 10) / 10, steps: c.steps })),
    backend: describeBackend(backend),
    packages: packageVersions(),
    machine: machineInfo(),
    config,
  };
  const files = writeBai2019Report({ outDir, config, overrides, quick: Boolean(options.quick), rows, cells: [...cells.values()], tilesStack: data.pretext[0], exampleStack: data.test[0], runInfo });
  return { outDir, files: ["rows.jsonl", "config.json", ...files] };
}

/** Invocations recorded in an earlier run.json of the same configuration (empty if none). */
function previousInvocations(file: string): ({ wallSeconds: number } & Record<string, unknown>)[] {
  if (!fs.existsSync(file)) return [];
  const previous = JSON.parse(fs.readFileSync(file, "utf8")) as { invocations?: ({ wallSeconds: number } & Record<string, unknown>)[]; wallSeconds?: number; started?: string; finished?: string; thisInvocation?: object; gitCommit?: string };
  if (previous.invocations) return previous.invocations;
  // run.json written before invocations were recorded: one invocation.
  return previous.wallSeconds !== undefined ? [{ started: previous.started, finished: previous.finished, wallSeconds: previous.wallSeconds, gitCommit: previous.gitCommit, ...previous.thisInvocation }] : [];
}
