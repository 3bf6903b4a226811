// The grid on a real Slurm: a one-node cluster on localhost (test/helpers/slurm-cluster.ts) runs
// `anatomy-ssl slurm bai2019 --array-size 4 --submit` at the tiny test scale: the pretraining job,
// four array tasks and the merge. Its table.md and summary.csv must be byte-identical to a
// single-process `reproduce` of the same configuration. Then the merge's refusals, each actually
// triggered on copies of the real shard stores: a cell in two shard stores, a store of another
// configuration, another code version, and missing cells; and the README's rerun of one failed
// task, through Slurm again.
//
// Requires slurm-wlm and munge (`npm run setup`); fails without them unless
// ANATOMY_SSL_SKIP_SLURM=1, which skips it (CI does not set it).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { startSlurmCluster, slurmUnavailable, type SlurmCluster } from "./helpers/slurm-cluster.js";
import { TINY } from "./helpers/tiny-bai2019.js";

const cli = path.resolve(__dirname, "../src/cli.js");
// Three seeds (24 cells, 3 pretraining runs): a summary over seeds adds three per-seed means, and
// floating-point addition of three is not associative, so the tables see the order of the store.
const GRID = [...TINY, "--set", "seeds=1,2,3"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function env(cache: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ANATOMY_SSL_CACHE: cache, ANATOMY_SSL_QUIET: "1", ANATOMY_SSL_BACKEND: process.env.ANATOMY_SSL_BACKEND ?? "" };
}

function anatomySsl(args: string[], cache: string, base?: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [cli, ...args], { env: env(cache, base), encoding: "utf8", timeout: 120_000 });
}

/** Every log the jobs wrote, for a failure message. */
function jobLogs(logDir: string): string {
  if (!fs.existsSync(logDir)) return `(no log folder ${logDir})`;
  return fs.readdirSync(logDir).sort().map((f) => `--- ${f} ---\n${fs.readFileSync(path.join(logDir, f), "utf8").trim().split("\n").slice(-20).join("\n")}`).join("\n") || "(no job logs)";
}

/** Wait until job `id` ends; fail with its state, the queue and every job log unless it COMPLETED. */
async function waitForJob(cluster: SlurmCluster, id: string, logDir: string, seconds: number): Promise<void> {
  let state = "";
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(1000)) {
    const shown = cluster.run("scontrol", ["show", "job", id, "-o"]).stdout;
    state = /JobState=(\S+)/.exec(shown)?.[1] ?? `unknown (${shown.trim() || "no answer"})`;
    if (state === "COMPLETED") return;
    if (/^(FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)/.test(state)) break;
  }
  const queue = cluster.run("squeue", ["-o", "%i %j %T %r"]).stdout;
  assert.fail(`job ${id} ended ${state} (or did not end within ${seconds} s)\nqueue:\n${queue}\njob logs:\n${jobLogs(logDir)}\ndaemons:\n${cluster.daemonLogs()}`);
}

const cellLines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith('{"type":"cell"')).map((l) => JSON.parse(l) as { method: string; budget: number; seed: number });

test("slurm: a sharded grid on a one-node Slurm merges to the single-process tables; the merge refuses what it must", { timeout: 400_000 }, async (t) => {
  const unavailable = slurmUnavailable();
  if (unavailable) {
    if (process.env.ANATOMY_SSL_SKIP_SLURM === "1") return t.skip(`Slurm cannot start here (${unavailable}); skipped because ANATOMY_SSL_SKIP_SLURM=1`);
    assert.fail(`Slurm cannot start here: ${unavailable} (or set ANATOMY_SSL_SKIP_SLURM=1 to skip this test)`);
  }
  const started = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-slurm-"));
  // munged refuses a socket below a folder that others cannot traverse (mkdtemp makes it 0700).
  fs.chmodSync(root, 0o755);
  let cluster: SlurmCluster | undefined;
  try {
    try {
      cluster = await startSlurmCluster(path.join(root, "cluster"), root);
    } catch (e) {
      if (process.env.ANATOMY_SSL_SKIP_SLURM === "1") return t.skip(`Slurm did not start here; skipped because ANATOMY_SSL_SKIP_SLURM=1: ${(e as Error).message.split("\n")[0]}`);
      throw e;
    }
    const out = path.join(root, "results", "bai2019");
    const logDir = path.join(out, "slurm", "logs");

    // The single-process run of the same configuration, with its own cache, while Slurm works.
    const single = path.join(root, "single");
    const reference = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, "reproduce", "bai2019", "--quick", "--out", single, ...GRID], { env: env(path.join(root, "cache-single")), stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code, stderr }));
    });

    // As the README says: one command writes and submits the three jobs.
    const cache = path.join(root, "cache-cluster");
    const submitted = anatomySsl(["slurm", "bai2019", "--array-size", "4", "--cpus", "1", "--quick", "--out", out, ...GRID, "--submit"], cache, cluster.env);
    assert.equal(submitted.status, 0, submitted.stderr);
    const ids = /bai2019: pretrain=(\d+) shards=(\d+) merge=(\d+)/.exec(submitted.stdout);
    assert.ok(ids, `no job ids in the submit output:\n${submitted.stdout}`);
    const shardsScript = fs.readFileSync(path.join(out, "slurm", "shards.sbatch"), "utf8");
    assert.match(shardsScript, /#SBATCH --array=0-3/);
    assert.match(shardsScript, new RegExp(`export ANATOMY_SSL_CACHE=${cache}`));
    assert.match(cluster.run("scontrol", ["show", "job", ids[2], "-o"]).stdout, new RegExp(`Dependency=afterok:${ids[1]}|JobState=(RUNNING|COMPLETED)`), "the array waits for the pretraining");
    await waitForJob(cluster, ids[3], logDir, 240);
    const ref = await reference;
    assert.equal(ref.code, 0, ref.stderr);

    // The tables of the merged shards are the single-process tables, byte for byte.
    for (const file of ["table.md", "summary.csv"]) assert.equal(fs.readFileSync(path.join(out, file), "utf8"), fs.readFileSync(path.join(single, file), "utf8"), `${file} differs from the single-process run`);
    // Each shard computed its own cells (cell k of seed x budget x method in shard k mod 4: with
    // four methods, one method each), and none pretrained.
    const methods = ["scratch", "ssl-decoder", "ssl-all", "ssl-multitask"];
    for (let i = 0; i < 4; i++) {
      const cells = cellLines(path.join(out, "shards", `${i}-of-4`, "rows.jsonl"));
      assert.deepEqual(cells.map((c) => `${c.method} ${c.budget} ${c.seed}`), [1, 2, 3].flatMap((seed) => [1, 2].map((budget) => `${methods[i]} ${budget} ${seed}`)));
      assert.doesNotMatch(fs.readFileSync(path.join(out, "shards", `${i}-of-4`, "rows.jsonl"), "utf8"), /"type":"pretrain"/);
    }
    // The merged store in the single-process order.
    const order = (file: string) => cellLines(file).map((c) => `${c.method}|${c.budget}|${c.seed}`);
    assert.deepEqual(order(path.join(out, "rows.jsonl")), order(path.join(single, "rows.jsonl")));
    const run = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
    assert.equal(run.invocations.length, 5, "the pretraining job and four shards");
    assert.equal(run.merges.length, 1);

    // The merge's refusals, on copies of the real stores; each leaves the paper's store untouched.
    const copy = (name: string) => {
      const dir = path.join(root, name);
      fs.cpSync(out, dir, { recursive: true });
      return dir;
    };
    const merge = (dir: string) => anatomySsl(["merge", "bai2019", "--quick", "--out", dir, ...GRID], cache, cluster!.env);
    const refused = (dir: string, pattern: RegExp) => {
      const before = fs.existsSync(path.join(dir, "rows.jsonl")) ? fs.readFileSync(path.join(dir, "rows.jsonl"), "utf8") : undefined;
      const r = merge(dir);
      assert.notEqual(r.status, 0, `merge of ${dir} should have failed:\n${r.stdout}`);
      assert.match(r.stderr, pattern);
      assert.equal(fs.existsSync(path.join(dir, "rows.jsonl")) ? fs.readFileSync(path.join(dir, "rows.jsonl"), "utf8") : undefined, before, "a refused merge writes nothing");
    };

    // A cell in two shard stores: shard 0's first cell copied into shard 1's store.
    const dup = copy("duplicate");
    const shard0 = fs.readFileSync(path.join(dup, "shards", "0-of-4", "rows.jsonl"), "utf8").split("\n");
    const firstCell = shard0.slice(0, shard0.findIndex((l) => l.startsWith('{"type":"cell"')) + 1);
    fs.appendFileSync(path.join(dup, "shards", "1-of-4", "rows.jsonl"), firstCell.join("\n") + "\n");
    refused(dup, new RegExp(`1 duplicate cells[^]*scratch budget 1 seed 1: in ${dup}/shards/0-of-4/rows.jsonl and in ${dup}/shards/1-of-4/rows.jsonl`));

    // A shard store made with another configuration.
    const other = copy("other-config");
    const config2 = path.join(other, "shards", "2-of-4", "config.json");
    fs.writeFileSync(config2, fs.readFileSync(config2, "utf8").replace('"maxSteps": 3', '"maxSteps": 4'));
    refused(other, new RegExp(`${config2}: made with another configuration than this merge's \\(finetune.maxSteps: 4 there, 3 here\\)`));

    // Cells computed by another code version.
    const foreign = copy("other-code");
    const rows1 = path.join(foreign, "shards", "1-of-4", "rows.jsonl");
    fs.writeFileSync(rows1, fs.readFileSync(rows1, "utf8").replace(/"gitCommit":"[^"]*"/g, '"gitCommit":"0123456789abcdef0123456789abcdef01234567"'));
    refused(foreign, new RegExp(`${rows1}: 6 cells computed by code 0123456789abcdef0123456789abcdef01234567`));

    // Missing cells: shard 3 lost its store and the paper's store was never merged.
    const lost = copy("missing");
    fs.rmSync(path.join(lost, "rows.jsonl"));
    fs.rmSync(path.join(lost, "shards", "3-of-4"), { recursive: true });
    const lostCells = [1, 2, 3].flatMap((seed) => [1, 2].map((budget) => `ssl-multitask budget ${budget} seed ${seed} \\(shard 3/4\\)`));
    refused(lost, new RegExp(`6 missing cells[^\\n]*\\n  ${lostCells.join("\\n  ")}\\n  rerun: \`anatomy-ssl reproduce bai2019 [^\`]*--shard 3/4\``));

    // The README's rerun of one failed task: task 3 again through Slurm, then the merge after it.
    fs.rmSync(path.join(out, "shards", "3-of-4"), { recursive: true });
    fs.rmSync(path.join(out, "rows.jsonl"));
    const slurmDir = path.join(out, "slurm");
    const sbatch = (args: string[]) => {
      const r = spawnSync("sbatch", ["--parsable", ...args], { cwd: slurmDir, env: env(cache, cluster!.env), encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split(";")[0];
    };
    const task = sbatch(["--array=3", "shards.sbatch"]);
    const merged = sbatch([`--dependency=afterok:${task}`, "merge.sbatch"]);
    await waitForJob(cluster, merged, logDir, 120);
    assert.equal(cellLines(path.join(out, "shards", "3-of-4", "rows.jsonl")).length, 6);
    for (const file of ["table.md", "summary.csv"]) assert.equal(fs.readFileSync(path.join(out, file), "utf8"), fs.readFileSync(path.join(single, file), "utf8"), `${file} after the rerun`);
  } finally {
    try {
      await cluster?.stop();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
    t.diagnostic(`wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
});
