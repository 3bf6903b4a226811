/**
 * `npm run lab` driven like a person would: starts scripts/lab.sh (the classic Jupyter Notebook
 * with the tslab kernel) on a copy of notebooks/00-tour.ipynb, opens it in Debian's Chromium
 * through playwright-core, clicks Cell > Run All and checks what the page shows: every code cell
 * executed, no error, the plotly figures drawn. A screenshot of the page is saved to
 * tmp/lab-test/<notebook>.png, pass or fail. The notebook runs in the small mode
 * (ANATOMY_SSL_NOTEBOOK_MODE=small).
 *
 * Needs Debian's chromium and jupyter-notebook (`npm run setup` installs both); when either is
 * missing the test fails and says so rather than skip, so a broken setup cannot pass CI silently.
 *
 * Environment knobs: ANATOMY_SSL_LAB_NOTEBOOK (run another .ipynb instead, e.g. a deliberately
 * broken copy; it is copied next to the project root like the tour, so "../dist/src/..." imports
 * hold), ANATOMY_SSL_LAB_RUN_TIMEOUT (seconds for Run All, default 600).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { chromium, errors, type Browser, type Page } from "playwright-core";
import { freePort } from "./helpers/free-port.js";

const root = path.resolve(__dirname, "..", ".."); // dist/test -> project root
const CHROMIUM = "/usr/bin/chromium";
const PYTHON = "/usr/bin/python3";
const notebookFile = path.resolve(process.env.ANATOMY_SSL_LAB_NOTEBOOK ?? path.join(root, "notebooks", "00-tour.ipynb"));
const runTimeoutMs = Number(process.env.ANATOMY_SSL_LAB_RUN_TIMEOUT ?? 600) * 1000;
const screenshotPath = path.join(root, "tmp", "lab-test", path.basename(notebookFile).replace(/\.ipynb$/, ".png"));
const SETUP_HINT = "`npm run setup` installs them (Debian packages chromium and jupyter-notebook)";
// The machine's closed network refuses Chromium's background connections (updates, sync, QUIC
// probes); without these flags it keeps retrying them. --no-sandbox: the tests run as root.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Why the lab cannot run here, or "" when Chromium and the notebook server are in place. */
function missingPrerequisites(): string {
  const problems: string[] = [];
  if (!fs.existsSync(CHROMIUM)) problems.push(`${CHROMIUM} not found`);
  const probe = spawnSync(PYTHON, ["-c", "import notebook.notebookapp"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) problems.push(`${PYTHON} cannot import the Jupyter Notebook server (package jupyter-notebook)`);
  return problems.length ? `${problems.join("; ")}: ${SETUP_HINT}` : "";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** pid, parent and process group of every process, from /proc (processes may vanish mid-read). */
function processTable(): { pid: number; ppid: number; pgid: number; cmd: string }[] {
  const table = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      table.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), cmd });
    } catch {
      // gone
    }
  }
  return table;
}

/** Processes descended from `pid`, by parent links. */
function descendants(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    const children = table.filter((p) => frontier.includes(p.ppid)).map((p) => p.pid);
    found.push(...children);
    frontier = children;
  }
  return found;
}

/** Live processes that are in group `pgid` or among `pids`, as "pid cmd" lines. */
function survivors(pgid: number, pids: number[]): string[] {
  return processTable()
    .filter((p) => p.pgid === pgid || pids.includes(p.pid))
    .map((p) => `${p.pid} ${p.cmd}`);
}

interface Lab {
  child: ChildProcess;
  pid: number;
  url: string;
  output: () => string;
}

/** Starts scripts/lab.sh in its own process group and waits until the server answers. */
async function startLab(dir: string): Promise<Lab> {
  const port = await freePort();
  const token = randomBytes(24).toString("hex");
  const child = spawn("bash", [path.join(root, "scripts", "lab.sh"), `--port=${port}`, `--NotebookApp.token=${token}`, `--notebook-dir=${dir}`], {
    cwd: root,
    detached: true, // own process group, so the whole server can be signalled at once
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ANATOMY_SSL_NOTEBOOK_MODE: "small", // the kernel inherits it
      JUPYTER_RUNTIME_DIR: path.join(dir, ".runtime"), // connection files go with the temp folder
    },
  });
  let log = "";
  child.stdout!.on("data", (b: Buffer) => (log += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (log += b.toString()));
  const lab = { child, pid: child.pid!, url: `http://127.0.0.1:${port}`, output: () => log };
  // A last resort if the test process dies without reaching its cleanup.
  process.once("exit", () => {
    try {
      process.kill(-lab.pid, "SIGKILL");
    } catch {
      // already gone
    }
  });
  const status = `${lab.url}/api/status?token=${token}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`scripts/lab.sh exited (${child.exitCode ?? child.signalCode}):\n${log}`);
    try {
      if ((await fetch(status)).ok) return { ...lab, url: `${lab.url}/notebooks/${path.basename(notebookFile)}?token=${token}` };
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  throw new Error(`the notebook server did not answer ${lab.url} within 120 s:\n${log}`);
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Stops the server: SIGTERM to its process group (Jupyter then shuts its kernels down), SIGKILL
 * after 20 s. The kernels are not in that group (jupyter_client starts each in a session of its
 * own), so they are tracked as the server's descendants, taken before the signal. Returns what
 * was still alive 10 s after the server exited (and has been killed since): [] when nothing.
 */
async function stopLab(lab: Lab): Promise<string[]> {
  const tree = descendants(lab.pid);
  try {
    process.kill(-lab.pid, "SIGTERM");
  } catch {
    // the group is already gone
  }
  if (!(await exited(lab.child, 20_000))) {
    process.kill(-lab.pid, "SIGKILL");
    await exited(lab.child, 5_000);
  }
  let left = survivors(lab.pid, tree);
  for (let waited = 0; left.length > 0 && waited < 10_000; waited += 250) {
    await sleep(250);
    left = survivors(lab.pid, tree);
  }
  for (const line of left) {
    try {
      process.kill(Number(line.split(" ")[0]), "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

/** The parts of classic Notebook's page object (window.Jupyter) that the test reads. */
interface JupyterPage {
  notebook: {
    _fully_loaded?: boolean;
    kernel: { is_connected(): boolean } | null;
    events: { on(event: string, handler: (e: unknown, data: { reply: { parent_header: { msg_id: string }; content: { status: string } } }) => void): void };
    get_cells(): { cell_type: string; last_msg_id?: string | null; get_text(): string; element: ArrayLike<HTMLElement> }[];
  };
}

interface CellReport {
  index: number;
  source: string;
  count: number | null;
  /** The kernel's execute_reply status: "ok", "error" (tslab: a compile or runtime error), "abort". */
  status: string | null;
  /** Still marked running (executing, or queued behind the cell that is). */
  running: boolean;
  errors: string;
  stderr: string;
  plots: number;
  unrendered: string[];
}

/** Waits until the notebook's kernel is connected and idle (the indicator a person watches). */
async function waitForKernel(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const nb = (window as unknown as { Jupyter?: JupyterPage }).Jupyter?.notebook;
      return !!nb?._fully_loaded && !!nb.kernel?.is_connected() && document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
    },
    undefined,
    { timeout: 120_000, polling: 500 },
  );
}

/**
 * Cell > Run All, then waits until no cell is running and the kernel is idle again; false when
 * that did not happen within the run timeout (the cell reports then say which cell hangs).
 */
async function runAll(page: Page): Promise<boolean> {
  // Record each execute_reply's status, to tell a failed cell from one that printed to stderr.
  await page.evaluate(() => {
    const w = window as unknown as { Jupyter: JupyterPage; labReplies: Record<string, string> };
    w.labReplies = {};
    w.Jupyter.notebook.events.on("shell_reply.Kernel", (_e, data) => {
      w.labReplies[data.reply.parent_header.msg_id] = data.reply.content.status;
    });
  });
  await page.click("#celllink");
  await page.click("#run_all_cells > a");
  // Running cells carry the class "running" (prompt In [*]); a count in some prompt shows the run
  // started, so a check right after the click cannot pass on the untouched page.
  return page
    .waitForFunction(
      () =>
        document.querySelectorAll(".code_cell.running").length === 0 &&
        document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null &&
        Array.from(document.querySelectorAll(".code_cell .input_prompt")).some((p) => /\[\d+\]/.test(p.textContent ?? "")),
      undefined,
      { timeout: runTimeoutMs, polling: 1000 },
    )
    .then(
      () => true,
      (e: Error) => {
        if (e instanceof errors.TimeoutError) return false;
        throw e;
      },
    );
}

function cellReports(page: Page): Promise<CellReport[]> {
  return page.evaluate(() => {
    const w = window as unknown as { Jupyter: JupyterPage; labReplies: Record<string, string> };
    const text = (el: Element, selector: string) => Array.from(el.querySelectorAll(selector)).map((e) => (e as HTMLElement).innerText).join("\n");
    return w.Jupyter.notebook
      .get_cells()
      .map((cell, index) => ({ cell, index }))
      .filter(({ cell }) => cell.cell_type === "code")
      .map(({ cell, index }) => {
        const el = cell.element[0];
        const prompt = /\[(\d+)\]/.exec(el.querySelector(".input_prompt")?.textContent ?? "");
        return {
          index,
          source: cell.get_text(),
          count: prompt ? Number(prompt[1]) : null,
          status: (cell.last_msg_id && w.labReplies[cell.last_msg_id]) || null,
          running: el.classList.contains("running"),
          errors: text(el, ".output_error"),
          stderr: text(el, ".output_stderr"),
          plots: el.querySelectorAll(".js-plotly-plot svg.main-svg").length,
          unrendered: Array.from(el.querySelectorAll(".anatomy-ssl-plot"))
            .filter((p) => p.querySelector("svg.main-svg") === null)
            .map((p) => (p as HTMLElement).innerText.trim() || "(empty)"),
        };
      });
  });
}

/**
 * Error text in a cell's stderr. tslab prints compile errors as "[file ]line:col - message" and
 * runtime errors as the thrown error with its stack ("TypeError: ...", "    at ..."). 00-tour's
 * small run writes nothing else to stderr, but other notebooks and libraries may print warnings
 * or progress there, which are not errors.
 */
const STDERR_ERROR = /^(\S+ )?\d+:\d+ - |^\w*Error\b|^\s+at \S|^unexpected error:/m;

function problemsOf(cells: CellReport[], finished: boolean): string[] {
  const problems: string[] = [];
  const [stuck, ...queued] = cells.filter((c) => c.running);
  if (stuck) {
    const behind = queued.length ? ` (queued behind it: ${queued.map((c) => `[${c.index}]`).join(", ")})` : "";
    problems.push(`code cell [${stuck.index}] was still running after ${runTimeoutMs / 1000} s${behind}\n--- cell source ---\n${stuck.source}`);
  } else if (!finished) {
    problems.push(`Run All did not finish within ${runTimeoutMs / 1000} s: the kernel did not come back to idle`);
  }
  for (const c of cells) {
    const why: string[] = [];
    if (c.status === "abort" || c.running) continue; // reported above or below
    if (c.count === null) why.push("not executed (no execution count)");
    if (c.status !== null && c.status !== "ok") why.push(`kernel replied ${c.status}`);
    if (c.errors) why.push(`error output:\n${c.errors}`);
    if (STDERR_ERROR.test(c.stderr)) why.push(`errors on stderr:\n${c.stderr}`);
    if (c.unrendered.length) why.push(`figure not drawn: ${c.unrendered.join("; ")}`);
    if (why.length) problems.push(`code cell [${c.index}]: ${why.join("\n")}\n--- cell source ---\n${c.source}`);
  }
  const aborted = cells.filter((c) => c.status === "abort").map((c) => `[${c.index}]`);
  if (aborted.length) problems.push(`not run after the failure (Run All stops at the first error): code cells ${aborted.join(", ")}`);
  if (!cells.some((c) => c.plots > 0)) problems.push("no plotly figure rendered (no .js-plotly-plot with an svg.main-svg)");
  return problems;
}

async function screenshot(page: Page): Promise<void> {
  // The classic notebook scrolls inside #site, not the document, so a full-page shot would only
  // hold the first screen: grow the window to the notebook's height first.
  const height = await page.evaluate(() => {
    const site = document.querySelector("#site");
    return (site?.scrollHeight ?? 0) + (document.querySelector("#header")?.clientHeight ?? 0);
  });
  await page.setViewportSize({ width: 1280, height: Math.min(Math.max(height, 900), 30_000) });
  await sleep(1000); // let the notebook and plotly react to the resize
  fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
}

test(`npm run lab: ${path.basename(notebookFile)} runs all cells in Chromium`, { timeout: runTimeoutMs + 10 * 60_000 }, async (t) => {
  const missing = missingPrerequisites();
  if (missing) assert.fail(`cannot drive the lab: ${missing}`);
  const started = Date.now();
  // One level below the project root, because the notebooks import "../dist/src/...".
  const dir = fs.mkdtempSync(path.join(root, ".lab-test-"));
  fs.copyFileSync(notebookFile, path.join(dir, path.basename(notebookFile)));
  let lab: Lab | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let leftovers: string[] = [];
  try {
    lab = await startLab(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(lab.url);
    await waitForKernel(page);
    const finished = await runAll(page);
    // The first figure carries plotly.js itself (~5 MB of script): give it a moment to draw.
    await page.waitForSelector(".js-plotly-plot svg.main-svg", { timeout: 30_000 }).catch(() => undefined);
    const cells = await cellReports(page);
    t.diagnostic(`code cells: ${cells.map((c) => `[${c.index}] ${c.count === null ? "-" : `#${c.count}`} ${c.status ?? "?"}${c.plots ? ` ${c.plots} figure svg` : ""}`).join(", ")}`);
    const stderr = cells.filter((c) => c.stderr).map((c) => `[${c.index}] ${c.stderr}`);
    if (stderr.length) t.diagnostic(`stderr: ${stderr.join(" | ")}`);
    const problems = problemsOf(cells, finished);
    if (problems.length) assert.fail(`${path.basename(notebookFile)} in the browser:\n\n${problems.join("\n\n")}\n\nscreenshot: ${screenshotPath}`);
  } finally {
    if (page) {
      await screenshot(page).then(
        () => t.diagnostic(`screenshot: ${screenshotPath}`),
        (e: Error) => t.diagnostic(`no screenshot: ${e.message}`),
      );
    }
    await browser?.close();
    if (lab) leftovers = await stopLab(lab);
    fs.rmSync(dir, { recursive: true, force: true });
    t.diagnostic(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  if (leftovers.length) assert.fail(`processes of the lab still running after it stopped (now killed):\n${leftovers.join("\n")}\nserver output:\n${lab?.output()}`);
});
