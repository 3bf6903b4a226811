// A sharded run without Slurm: how the grid is split (every cell in exactly one shard, the union
// is the grid), what the generated Slurm jobs say, and what a shard refuses to do (pretrain, or
// start over). The run on a real Slurm is test/slurm.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { differingSettings } from "../src/experiments/merge.js";
import { cellKey } from "../src/experiments/results.js";
import { gridCells, parseShard, shardCellKeys, shardOfFolder } from "../src/experiments/shards.js";
import { slurmJobs } from "../src/experiments/slurm.js";
import { projectRoot } from "../src/provenance.js";
import { TINY, TINY_SETTINGS } from "./helpers/tiny-bai2019.js";

const cli = path.resolve(__dirname, "../src/cli.js");

test("shards: the grid in canonical order (seed, budget, method as listed), cell k in shard k mod n", () => {
  const config = { seeds: [3, 1], budgets: [5, 1], methods: ["b", "a"] };
  assert.deepEqual(
    gridCells(config).map((c) => `${c.seed} ${c.budget} ${c.method}`),
    ["3 5 b", "3 5 a", "3 1 b", "3 1 a", "1 5 b", "1 5 a", "1 1 b", "1 1 a"],
  );
  assert.deepEqual([...shardCellKeys(config, { index: 1, count: 3 })], ["a|5|3", "b|5|1", "a|1|1"]);
  // Every count from 1 to past the number of cells: each cell in exactly one shard; together, the grid.
  const grid = gridCells(config).map(cellKey);
  for (let count = 1; count <= grid.length + 2; count++) {
    const shards = Array.from({ length: count }, (_, index) => shardCellKeys(config, { index, count }));
    for (const key of grid) assert.equal(shards.filter((s) => s.has(key)).length, 1, `${key} with ${count} shards`);
    assert.deepEqual(shards.flatMap((s) => [...s]).sort(), [...grid].sort());
  }
});

test("shards: --shard i/n and shard folder names are checked", () => {
  assert.deepEqual(parseShard("2/8"), { index: 2, count: 8 });
  assert.throws(() => parseShard("8/8"), /shard index 8 is not below the number of shards 8/);
  assert.throws(() => parseShard("0/0"), /at least 1/);
  assert.throws(() => parseShard("1-8"), /expected i\/n/);
  assert.deepEqual(shardOfFolder("3-of-4"), { index: 3, count: 4 });
  assert.equal(shardOfFolder("4-of-4"), undefined);
  assert.equal(shardOfFolder("pretraining"), undefined);
});

test("merge: differing settings are named as --set names them", () => {
  const a = JSON.stringify({ paper: "bai2019", quick: true, config: { seeds: [1], finetune: { maxSteps: 4 } } });
  const b = JSON.stringify({ paper: "bai2019", quick: false, config: { seeds: [1, 2], finetune: { maxSteps: 3 } } });
  assert.deepEqual(differingSettings(a, b), ["finetune.maxSteps: 4 there, 3 here", "seeds: [1] there, [1,2] here", "quick: true there, false here"]);
});

test("slurm: three sbatch scripts and a submit script chaining them with afterok", () => {
  const out = path.join(os.tmpdir(), "anatomy-ssl-slurm-scripts");
  const jobs = slurmJobs("bai2019", { quick: true, outDir: out, overrides: [...TINY_SETTINGS, "seeds=1,2"], arraySize: 3, partition: "short", time: "1:00:00", cpus: 2 });
  const text = Object.fromEntries(jobs.scripts.map((s) => [s.name, s.text]));
  assert.deepEqual(Object.keys(text), ["pretrain.sbatch", "shards.sbatch", "merge.sbatch", "submit.sh"]);
  const root = projectRoot();
  const sets = TINY_SETTINGS.slice(0, -1).map((s) => `--set ${s}`).join(" ") + " --set seeds=1 --set seeds=1,2";
  for (const name of ["pretrain.sbatch", "shards.sbatch", "merge.sbatch"]) {
    const s = text[name];
    assert.match(s, /^#!\/bin\/bash\n/);
    for (const line of ["#SBATCH --partition=short", "#SBATCH --time=1:00:00", "#SBATCH --cpus-per-task=2", `cd ${root}`, `export ANATOMY_SSL_CACHE=`]) assert.ok(s.includes(line), `${name}: ${line}`);
    assert.ok(s.includes(`${process.execPath} ${path.join(root, "dist/src/cli.js")} `), `${name}: this node and dist/`);
    assert.ok(s.includes(`--quick --out ${out} ${sets}`), `${name}: the options, passed through`);
    assert.match(s, new RegExp(`#SBATCH --output=${path.join(out, "slurm", "logs")}/`));
  }
  assert.match(text["pretrain.sbatch"], /cli\.js reproduce bai2019 .* --pretrain-only\n$/);
  assert.match(text["shards.sbatch"], /#SBATCH --array=0-2\n/);
  assert.match(text["shards.sbatch"], /cli\.js reproduce bai2019 .* --shard "\$SLURM_ARRAY_TASK_ID\/3"\n$/);
  assert.match(text["merge.sbatch"], /cli\.js merge bai2019 --quick --out /);
  const submit = text["submit.sh"];
  assert.match(submit, /pretrain=\$\(sbatch --parsable \$\{1:\+--dependency=afterany:\$1\} pretrain\.sbatch\)/);
  assert.match(submit, /shards=\$\(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:\$pretrain shards\.sbatch\)/);
  assert.match(submit, /merge=\$\(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:\$shards merge\.sbatch\)/);
  // The shell agrees the scripts are scripts.
  for (const [name, s] of Object.entries(text)) assert.equal(spawnSync("bash", ["-n"], { input: s }).status, 0, `${name} has a bash syntax error`);

  assert.throws(() => slurmJobs("bai2019", { quick: true, overrides: TINY_SETTINGS, arraySize: 9 }), /--array-size 9: the grid has 8 cells/);
  assert.throws(() => slurmJobs("bai2019", { quick: true, overrides: TINY_SETTINGS, time: "an hour" }), /--time an hour: not a Slurm time limit/);
  assert.throws(() => slurmJobs("bai2019", { quick: true, overrides: ["finetune.maxSteps=0"] }), /finetune.maxSteps/);
  assert.equal(slurmJobs("bai2019", { quick: true, overrides: TINY_SETTINGS }).arraySize, 8, "default: 8 tasks, at most one per cell");
  // The committed results/bai2019 holds the full configuration: another is refused before any job is written.
  assert.throws(() => slurmJobs("bai2019", { overrides: ["seeds=1"] }), /results\/bai2019\/config\.json: the results there were made with another configuration; use --out DIR/);
});

test("slurm all --dry-run prints every paper's four scripts and writes nothing", () => {
  const r = spawnSync(process.execPath, [cli, "slurm", "all", "--array-size", "8", "--dry-run"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  for (const paper of ["bai2019", "zhang2024", "kidney", "pgl"]) {
    for (const name of ["pretrain.sbatch", "shards.sbatch", "merge.sbatch", "submit.sh"]) assert.ok(r.stdout.includes(`==> ${path.join(projectRoot(), "results", paper, "slurm", name)} <==`), `${paper} ${name}`);
    assert.equal(fs.existsSync(path.join(projectRoot(), "results", paper, "slurm")), false, `${paper}: --dry-run wrote scripts`);
  }
  // One script submits them all, each paper's pretraining after the previous paper's.
  const all = r.stdout.slice(r.stdout.indexOf(`==> ${path.join(projectRoot(), "results", "slurm-all-submit.sh")} <==`));
  assert.match(all, /line=\$\(bash \S+\/results\/bai2019\/slurm\/submit\.sh \$previous\)[^]*line=\$\(bash \S+\/results\/zhang2024\/slurm\/submit\.sh \$previous\)/);
  assert.equal(fs.existsSync(path.join(projectRoot(), "results", "slurm-all-submit.sh")), false);
});

test("reproduce --shard: never pretrains (names what is missing and the command that makes it), never starts over", { timeout: 120_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-shards-"));
  try {
    const out = path.join(root, "bai2019");
    const run = (extra: string[]) => spawnSync(process.execPath, [cli, "reproduce", "bai2019", "--quick", "--out", out, ...TINY, ...extra], { env: { ...process.env, ANATOMY_SSL_CACHE: path.join(root, "cache"), ANATOMY_SSL_QUIET: "1" }, encoding: "utf8", timeout: 100_000 });
    const shard = run(["--shard", "1/4"]);
    assert.notEqual(shard.status, 0);
    assert.match(shard.stderr, /the pretrained weights of pretext 'anatomical-position' for seed 1 are not in the cache \(.*\/cache\/pretrained\/pretrained-anatomical-position-seed1-\w+\.bin\); a shard does not train them itself/);
    assert.match(shard.stderr, /Run the pretraining first: `anatomy-ssl reproduce bai2019 --quick --out \S+ --set syntheticSubjects=8 .* --set seeds=1 --pretrain-only`/);
    assert.equal(fs.existsSync(path.join(root, "cache", "pretrained")), false, "nothing pretrained");
    assert.equal(fs.existsSync(path.join(out, "shards", "1-of-4", "rows.jsonl")), false);

    assert.match(run(["--shard", "1/4", "--fresh"]).stderr, /--shard 1\/4 with --fresh: a sharded run never deletes results or cached weights/);
    assert.match(run(["--shard", "1/4", "--pretrain-only"]).stderr, /--shard and --pretrain-only are different jobs/);

    // A shard's cells that the paper's store lacks: a single-process run would compute them
    // again, so it refuses until they are merged.
    const store = path.join(out, "shards", "0-of-4");
    fs.mkdirSync(store, { recursive: true });
    fs.writeFileSync(path.join(store, "rows.jsonl"), JSON.stringify({ type: "cell", paper: "bai2019", method: "scratch", budget: 1, seed: 1, trainSubjects: [], steps: 1, seconds: 1, finishedAt: "2026-01-01T00:00:00Z" }) + "\n");
    const single = run([]);
    assert.notEqual(single.status, 0);
    assert.match(single.stderr, /shard stores hold 1 cells that .*rows\.jsonl lacks; merge them first with `anatomy-ssl merge bai2019 --quick --out /);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
