/**
 * A real one-node Slurm cluster for a test, on localhost, inside one temporary folder: its own
 * munged (key, socket, pid, log), and slurmctld and slurmd from a generated slurm.conf on free
 * ports, so it touches neither /etc/slurm, /etc/munge, nor another cluster on this machine. The
 * daemons run in the foreground (-D, -F) as children of the test, which holds their process ids
 * and stops exactly those.
 *
 * Debian packages: slurm-wlm (slurmctld, slurmd, the client commands) and munge; `npm run setup`
 * installs both.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./free-port.js";

const BINARIES = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo"];

/** Absolute path of a command (daemons live in /usr/sbin, which a non-root PATH may lack). */
function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin", "/usr/bin"];
  return dirs.map((d) => path.join(d, name)).find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why a cluster cannot start here (missing binaries), or undefined. */
export function slurmUnavailable(): string | undefined {
  const missing = BINARIES.filter((b) => !which(b));
  return missing.length ? `missing ${missing.join(", ")}: \`npm run setup\` installs Debian's slurm-wlm and munge` : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** true if `p` settles within `ms` (the timer is cleared, so it never holds the test open). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** This machine as slurmd sees it (CPUs, sockets, cores, memory), for the NodeName line. */
function nodeHardware(): string {
  const r = spawnSync(which("slurmd")!, ["-C"], { encoding: "utf8" });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("NodeName="));
  if (line) return line.replace(/^NodeName=\S+\s*/, "");
  return `CPUs=${os.cpus().length} RealMemory=${Math.floor(os.totalmem() / 2 ** 20)}`;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  output: string;
}

export interface SlurmCluster {
  dir: string;
  /** The environment for client commands (and jobs): SLURM_CONF points at this cluster. */
  env: NodeJS.ProcessEnv;
  pids: number[];
  /** Run a client command against this cluster. */
  run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  /** The tail of each daemon's output, for failure messages. */
  daemonLogs(): string;
  /** Cancel every job, stop the daemons (SIGTERM, then SIGKILL) and check that none is left. */
  stop(): Promise<void>;
}

/**
 * Start a cluster in `dir`. `owner`: a folder in the command line of every process the test
 * starts through it (jobs name their output folders): after stop() none may be left.
 */
export async function startSlurmCluster(dir: string, owner = dir): Promise<SlurmCluster> {
  fs.mkdirSync(dir, { recursive: true });
  // munged refuses a socket in a folder others cannot traverse.
  fs.chmodSync(dir, 0o755);
  for (const sub of ["state", "spool"]) fs.mkdirSync(path.join(dir, sub));
  const key = path.join(dir, "munge.key");
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o600 });
  const socket = path.join(dir, "munge.socket");
  const conf = path.join(dir, "slurm.conf");
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: Daemon[] = [];

  const start = (name: string, args: string[]): Daemon => {
    const out = fs.openSync(path.join(dir, `${name}.out`), "w");
    const child = spawn(which(name)!, args, { env, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const d: Daemon = { name, child, exited: new Promise((r) => child.once("exit", () => r())), output: path.join(dir, `${name}.out`) };
    daemons.push(d);
    return d;
  };
  const tail = (file: string, lines = 15) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n") : "(no output)");
  const daemonLogs = () => daemons.map((d) => `--- ${d.name} (pid ${d.child.pid}) ---\n${tail(d.output)}`).join("\n");
  const run = (command: string, args: string[]) => {
    const r = spawnSync(which(command)!, args, { env, encoding: "utf8", timeout: 30_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const waitFor = async (what: string, ready: () => boolean, seconds: number) => {
    for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(250)) {
      if (ready()) return;
      const dead = daemons.find((d) => d.child.exitCode !== null || d.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${daemonLogs()}`);
    }
    throw new Error(`timed out after ${seconds} s waiting for ${what}:\n${daemonLogs()}`);
  };

  const stop = async () => {
    const problems: string[] = [];
    // Jobs first: their slurmstepd processes are not our children and would outlive slurmd.
    if (daemons.some((d) => d.name === "slurmctld" && d.child.exitCode === null)) {
      const jobs = run("squeue", ["-h", "-o", "%i"]).stdout.split("\n").map((s) => s.trim()).filter(Boolean);
      if (jobs.length > 0) run("scancel", jobs);
      const end = Date.now() + 30_000;
      while (Date.now() < end && run("squeue", ["-h", "-o", "%i"]).stdout.trim() !== "") await sleep(500);
      const left = run("squeue", ["-h", "-o", "%i %T"]).stdout.trim();
      if (left) problems.push(`jobs still queued after scancel: ${left}`);
      // A step's socket stays in the spool folder while its slurmstepd runs.
      const spool = path.join(dir, "spool");
      while (Date.now() < end && fs.readdirSync(spool).some((f) => /_\d+\.\d+$/.test(f))) await sleep(500);
    }
    for (const d of [...daemons].reverse()) {
      if (d.child.exitCode !== null || d.child.signalCode !== null) continue;
      d.child.kill("SIGTERM");
      if (!(await settlesWithin(d.exited, 15_000))) {
        d.child.kill("SIGKILL");
        await settlesWithin(d.exited, 5_000);
      }
    }
    for (const d of daemons) {
      try {
        process.kill(d.child.pid!, 0);
        problems.push(`${d.name} (pid ${d.child.pid}) is still running`);
      } catch {
        // ESRCH: gone, as it should be.
      }
    }
    // Nothing else may run from this test: no process names its folder (jobs' command lines do).
    const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout ?? "";
    const strays = ps.split("\n").filter((l) => `${l} `.includes(`${owner}/`) || `${l} `.includes(`${owner} `));
    if (strays.length) problems.push(`processes still running from ${owner}:\n${strays.join("\n")}`);
    if (problems.length) throw new Error(`the test cluster did not stop cleanly:\n${problems.join("\n")}`);
  };

  try {
    start("munged", ["-F", `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${path.join(dir, "munged.pid")}`, `--log-file=${path.join(dir, "munged.log")}`, `--seed-file=${path.join(dir, "munged.seed")}`]);
    await waitFor("munged's socket", () => fs.existsSync(socket), 15);

    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    const file = (name: string) => path.join(dir, name);
    fs.writeFileSync(
      conf,
      [
        `# A one-node test cluster (test/helpers/slurm-cluster.ts); everything lives in ${dir}.`,
        `ClusterName=anatomyssl${crypto.randomBytes(3).toString("hex")}`,
        "SlurmctldHost=localhost",
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        // The user running the test: root here and in CI (`npm run setup` needs root as well).
        `SlurmUser=${os.userInfo().username}`,
        `SlurmdUser=${os.userInfo().username}`,
        "AuthType=auth/munge",
        "CredType=cred/munge",
        `AuthInfo=socket=${socket}`,
        `StateSaveLocation=${file("state")}`,
        `SlurmdSpoolDir=${file("spool")}`,
        `SlurmctldPidFile=${file("slurmctld.pid")}`,
        `SlurmdPidFile=${file("slurmd.pid")}`,
        `SlurmctldLogFile=${file("slurmctld.log")}`,
        `SlurmdLogFile=${file("slurmd.log")}`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "MailProg=/bin/true",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        // Finished jobs stay visible to `scontrol show job` for the whole test.
        "MinJobAge=3600",
        // Start jobs whose dependencies were just met within a second, not the default minute.
        "SchedulerParameters=sched_interval=1,sched_min_interval=100000",
        `NodeName=localhost NodeAddr=127.0.0.1 ${nodeHardware()} State=UNKNOWN`,
        "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        "",
      ].join("\n"),
    );
    start("slurmctld", ["-D", "-f", conf]);
    await waitFor("slurmctld to answer", () => /UP/.test(run("scontrol", ["ping"]).stdout), 30);
    start("slurmd", ["-D", "-N", "localhost", "-f", conf]);
    await waitFor("the node to be idle", () => /idle/.test(run("sinfo", ["-h", "-n", "localhost", "-o", "%T"]).stdout), 30);
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
  return { dir, env, pids: daemons.map((d) => d.child.pid!), run, daemonLogs, stop };
}
