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
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { executeNotebook, failureMessage, missingPrerequisites } from "../src/notebook/execute.js";

const root = path.resolve(__dirname, "..", ".."); // dist/test -> project root
const discoverDir = path.resolve(process.env.ANATOMY_SSL_NOTEBOOKS ?? path.join(root, "notebooks"));
const cellTimeout = Number(process.env.ANATOMY_SSL_NOTEBOOK_CELL_TIMEOUT ?? 300);

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
    const { result, executed, stderr } = await executeNotebook(file, { outDir, mode: "small", cellTimeout });
    t.diagnostic(`${name}: ${result.total} s (cells: ${result.seconds.map(([i, s]) => `[${i}] ${s}s`).join(", ")})`);
    if (!result.ok) assert.fail(failureMessage(name, result, executed, stderr));
    if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
  });
}
