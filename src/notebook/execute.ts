/**
 * Executing a notebook through real Jupyter: nbclient on Debian's /usr/bin/python3 with the
 * project-local tslab kernel (scripts/setup-jupyter.sh registers it under .jupyter-kernel/).
 * Used by the notebook tests (small mode) and by `anatomy-ssl notebooks render` (full mode).
 *
 * Cells run one at a time so the failing cell is known, even for a timeout or a dead kernel.
 * tslab reports failures (compile and runtime) as a stderr stream plus an execute_reply with
 * status "error" and no ename/evalue (nbclient shows "<Error>"), so a failing cell's stream
 * outputs are part of the error text. The source notebook is never rewritten: the executed copy
 * goes to `out`.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../provenance.js";
import type { NotebookMode } from "./mode.js";

const RUNNER = String.raw`
import json, re, sys, time, traceback
import nbformat
from nbclient import NotebookClient

src, out, cwd, timeout, result_path = sys.argv[1:]
nb = nbformat.read(src, as_version=4)
kernel = nb.metadata.get("kernelspec", {}).get("name", "tslab")
client = NotebookClient(nb, timeout=int(timeout), startup_timeout=120, kernel_name=kernel,
                        resources={"metadata": {"path": cwd}})
ansi = re.compile(r"\x1b\[[0-9;]*m")

def output_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append("[%s] %s" % (o.name, o.text))
        elif o.output_type == "error":
            parts.append("[error] %s: %s\n%s" % (o.ename, o.evalue, ansi.sub("", "\n".join(o.traceback))))
    return "".join(parts)

result = {"ok": True, "kernel": kernel, "seconds": [], "failure": None}
started = time.time()
try:
    with client.setup_kernel():
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.time()
            count += 1
            try:
                # tslab sends no execute_input, so nbclient numbers a cell only when told to
                # (as its own execute() does): the rendered page shows In [n], not In [ ].
                client.execute_cell(cell, index, execution_count=count)
            except Exception as e:
                result["ok"] = False
                result["failure"] = {
                    "index": index, "source": cell.source, "exception": type(e).__name__,
                    "ename": getattr(e, "ename", None), "evalue": getattr(e, "evalue", None),
                    # CellExecutionError's text repeats the source; other exceptions (timeout,
                    # dead kernel) carry their reason only in the message.
                    "message": str(e) if type(e).__name__ != "CellExecutionError" else None,
                    "outputs": output_text(cell),
                }
                break
            finally:
                result["seconds"].append([index, round(time.time() - t0, 2)])
except Exception as e:
    result["ok"] = False
    result["failure"] = {"index": None, "exception": type(e).__name__, "message": traceback.format_exc()}
result["total"] = round(time.time() - started, 2)
nbformat.write(nb, out)
with open(result_path, "w") as f:
    json.dump(result, f)
`;

export interface ExecutionResult {
  ok: boolean;
  kernel: string;
  /** [cell index, seconds] of every code cell that ran. */
  seconds: [number, number][];
  total: number;
  failure: null | {
    index: number | null;
    source?: string;
    exception: string;
    ename?: string | null;
    evalue?: string | null;
    message?: string | null;
    outputs?: string;
  };
}

export const SETUP_HINT = "run `npm run setup` (installs Jupyter from Debian and registers the project-local tslab kernel)";

/** The interpreter that has Debian's Jupyter modules (the python3 first on PATH may lack them). */
export const jupyterPython = (): string => process.env.ANATOMY_SSL_PYTHON ?? "/usr/bin/python3";

/** Where the project-local kernel spec lives (JUPYTER_PATH entry). */
export const kernelPath = (): string => path.join(projectRoot(), ".jupyter-kernel");

/** Why notebooks cannot run here, or "" when Jupyter and the kernel are in place. */
export function missingPrerequisites(): string {
  const python = jupyterPython();
  const problems: string[] = [];
  const probe = spawnSync(python, ["-c", "import nbclient, nbformat, nbconvert"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    problems.push(`${python} cannot import nbclient/nbformat/nbconvert: ${(probe.error?.message ?? probe.stderr).trim().split("\n").pop()}`);
  }
  const kernelJson = path.join(kernelPath(), "kernels", "tslab", "kernel.json");
  if (!fs.existsSync(kernelJson)) {
    problems.push(`no tslab kernel at ${kernelJson}`);
  } else {
    const argv = (JSON.parse(fs.readFileSync(kernelJson, "utf8")) as { argv: string[] }).argv;
    for (const p of argv.slice(0, 2)) if (!fs.existsSync(p)) problems.push(`${kernelJson} runs ${p}, which does not exist`);
  }
  return problems.length ? `${problems.join("; ")}: ${SETUP_HINT}` : "";
}

/** The failing cell's source and error text, for a test failure or a CLI error. */
export function failureMessage(name: string, r: ExecutionResult, executed: string, stderr: string): string {
  const f = r.failure!;
  const lines = [`${name}: ${f.index === null ? "could not run" : `code cell [${f.index}] failed`} (${f.exception})`];
  if (f.source !== undefined) lines.push("--- cell source ---", f.source);
  // tslab leaves ename/evalue empty (nbclient fills in "<Error>"); its error text is in the outputs.
  if ((f.ename && f.ename !== "<Error>") || f.evalue) lines.push("--- error ---", `${f.ename ?? ""}: ${f.evalue ?? ""}`);
  if (f.message) lines.push("--- message ---", f.message.trim());
  if (f.outputs) lines.push("--- cell output (traceback, stderr) ---", f.outputs.trim());
  if (f.index === null && stderr.trim()) lines.push("--- jupyter stderr (tail) ---", stderr.trim().split("\n").slice(-30).join("\n"));
  lines.push(`--- executed notebook: ${executed}`);
  return lines.join("\n");
}

export interface ExecuteOptions {
  /** The executed copy is written here as <outDir>/<name>.ipynb (with <name>.result.json). */
  outDir: string;
  mode: NotebookMode;
  /** Seconds allowed per cell. */
  cellTimeout: number;
  /** Kernel working directory (default notebooks/: notebooks import "../dist/src/..."). */
  cwd?: string;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
}

/** Execute `file` cell by cell in a real Jupyter kernel; resolves with the result (never throws on a failing cell). */
export function executeNotebook(file: string, options: ExecuteOptions): Promise<{ result: ExecutionResult; executed: string; stderr: string }> {
  const executed = path.join(options.outDir, path.basename(file));
  const resultPath = executed.replace(/\.ipynb$/, ".result.json");
  const env = {
    ...process.env,
    // Our kernel dir first; Jupyter still finds other kernels after it.
    JUPYTER_PATH: [kernelPath(), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    // Connection files go to the output dir, not ~/.local/share/jupyter.
    JUPYTER_RUNTIME_DIR: path.join(options.outDir, "runtime"),
    ANATOMY_SSL_NOTEBOOK_MODE: options.mode,
    ...options.env,
  };
  const cwd = options.cwd ?? path.join(projectRoot(), "notebooks");
  const args = ["-c", RUNNER, file, executed, cwd, String(options.cellTimeout), resultPath];
  fs.mkdirSync(options.outDir, { recursive: true });
  fs.rmSync(resultPath, { force: true }); // never read a stale result from a kept output dir
  return new Promise((resolve, reject) => {
    execFile(jupyterPython(), args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!fs.existsSync(resultPath)) {
        reject(new Error(`${path.basename(file)}: the notebook runner produced no result (${error?.message ?? "no error"})\n${stderr}`));
        return;
      }
      resolve({ result: JSON.parse(fs.readFileSync(resultPath, "utf8")) as ExecutionResult, executed, stderr });
    });
  });
}
