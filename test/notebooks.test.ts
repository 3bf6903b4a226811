/**
 * Executes every notebooks/*.ipynb headless through real Jupyter (nbclient on Debian's
 * /usr/bin/python3) with the project-local tslab kernel, one test per notebook, in the small
 * mode (ANATOMY_SSL_NOTEBOOK_MODE=small). A failing cell fails the test with its source and error
 * text. Executed copies go to a temp dir: the committed notebooks are never rewritten.
 *
 * Needs `bash scripts/setup-jupyter.sh` (CI runs it); when Jupyter or the kernel is missing the
 * tests fail and say so rather than skip, so a broken setup cannot pass CI silently.
 *
 * Environment knobs: ANATOMY_SSL_PYTHON (default /usr/bin/python3),
 * ANATOMY_SSL_NOTEBOOK_CELL_TIMEOUT (seconds per cell, default 300),
 * ANATOMY_SSL_NOTEBOOK_OUT (keep executed notebooks in this dir instead of a deleted temp dir),
 * ANATOMY_SSL_NOTEBOOKS (run the .ipynb files of another dir instead of notebooks/, e.g. a draft or
 * a deliberately broken copy; they still run in notebooks/, so their relative imports hold).
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "..", ".."); // dist/test -> project root
/** Kernel working directory for every notebook: notebooks import "../dist/src/...". */
const notebooksDir = path.join(root, "notebooks");
const discoverDir = path.resolve(process.env.ANATOMY_SSL_NOTEBOOKS ?? notebooksDir);
const kernelPath = path.join(root, ".jupyter-kernel");
const python = process.env.ANATOMY_SSL_PYTHON ?? "/usr/bin/python3";
const cellTimeout = Number(process.env.ANATOMY_SSL_NOTEBOOK_CELL_TIMEOUT ?? 300);
const SETUP_HINT = "run `bash scripts/setup-jupyter.sh` (installs Jupyter from Debian and registers the project-local tslab kernel)";

/**
 * Run by /usr/bin/python3: execute one notebook cell by cell so the failing cell is known even
 * for timeouts and kernel deaths, write the executed notebook and a JSON result.
 * tslab reports failures (compile and runtime) as a stderr stream plus an execute_reply with
 * status "error" and no ename/evalue (nbclient shows "<Error>"), so the cell's stream outputs are
 * part of the error text.
 */
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
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.time()
            try:
                client.execute_cell(cell, index)
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

interface RunResult {
  ok: boolean;
  kernel: string;
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

let prerequisites: string | undefined;

/** Why the notebooks cannot run here, or "" when Jupyter and the kernel are in place. */
function missingPrerequisites(): string {
  if (prerequisites !== undefined) return prerequisites;
  const problems: string[] = [];
  const probe = spawnSync(python, ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    problems.push(`${python} cannot import nbclient/nbformat: ${(probe.error?.message ?? probe.stderr).trim().split("\n").pop()}`);
  }
  const kernelJson = path.join(kernelPath, "kernels", "tslab", "kernel.json");
  if (!fs.existsSync(kernelJson)) {
    problems.push(`no tslab kernel at ${kernelJson}`);
  } else {
    const argv = (JSON.parse(fs.readFileSync(kernelJson, "utf8")) as { argv: string[] }).argv;
    for (const p of argv.slice(0, 2)) if (!fs.existsSync(p)) problems.push(`${kernelJson} runs ${p}, which does not exist`);
  }
  prerequisites = problems.length ? `${problems.join("; ")}: ${SETUP_HINT}` : "";
  return prerequisites;
}

function failureMessage(name: string, r: RunResult, executed: string, stderr: string): string {
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

function runNotebook(file: string, outDir: string): Promise<{ result: RunResult; executed: string; stderr: string }> {
  const executed = path.join(outDir, path.basename(file));
  const resultPath = executed.replace(/\.ipynb$/, ".result.json");
  const env = {
    ...process.env,
    // Our kernel dir first; Jupyter still finds other kernels after it.
    JUPYTER_PATH: [kernelPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    // Connection files go to the temp dir, not ~/.local/share/jupyter.
    JUPYTER_RUNTIME_DIR: path.join(outDir, "runtime"),
    ANATOMY_SSL_NOTEBOOK_MODE: "small",
  };
  const args = ["-c", RUNNER, file, executed, notebooksDir, String(cellTimeout), resultPath];
  fs.rmSync(resultPath, { force: true }); // never read a stale result from a kept output dir
  return new Promise((resolve, reject) => {
    execFile(python, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!fs.existsSync(resultPath)) {
        reject(new Error(`${path.basename(file)}: the notebook runner produced no result (${error?.message ?? "no error"})\n${stderr}`));
        return;
      }
      resolve({ result: JSON.parse(fs.readFileSync(resultPath, "utf8")) as RunResult, executed, stderr });
    });
  });
}

const notebooks = fs.existsSync(discoverDir)
  ? fs.readdirSync(discoverDir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(discoverDir, f))
  : [];

test("there are notebooks to run", () => {
  assert.ok(notebooks.length > 0, `no .ipynb files in ${discoverDir}`);
});

for (const file of notebooks) {
  const name = file.startsWith(root + path.sep) ? path.relative(root, file) : file;
  test(`notebook ${name} executes in small mode`, { timeout: 60 * 60 * 1000 }, async (t) => {
    const missing = missingPrerequisites();
    if (missing) assert.fail(`cannot execute ${name}: ${missing}`);
    const keep = process.env.ANATOMY_SSL_NOTEBOOK_OUT;
    const outDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-notebook-"));
    fs.mkdirSync(outDir, { recursive: true });
    const { result, executed, stderr } = await runNotebook(file, outDir);
    t.diagnostic(`${name}: ${result.total} s (cells: ${result.seconds.map(([i, s]) => `[${i}] ${s}s`).join(", ")})`);
    if (!result.ok) assert.fail(failureMessage(name, result, executed, stderr));
    if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
  });
}
