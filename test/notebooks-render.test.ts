// `anatomy-ssl notebooks render`: the tour executed in real Jupyter (small mode), exported to one
// HTML file that carries plotly.js exactly once and no script from the machine's disk, then opened
// in Debian's Chromium with every network request refused: its figures must draw from the file alone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { missingPrerequisites } from "../src/notebook/execute.js";

const cli = path.resolve(__dirname, "../src/cli.js");
const CHROMIUM = "/usr/bin/chromium";
// Flags for a closed network: without them Chromium keeps trying Google's hosts.
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

test("notebooks render: self-contained HTML whose plotly figures draw offline", { timeout: 600_000 }, async () => {
  const missing = missingPrerequisites();
  if (missing) assert.fail(`cannot render notebooks: ${missing}`);
  if (!fs.existsSync(CHROMIUM)) assert.fail(`${CHROMIUM} not found: \`npm run setup\` installs Debian's chromium`);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-render-"));
  const r = spawnSync(process.execPath, [cli, "notebooks", "render", "00-tour", "--mode", "small", "--out", out], { encoding: "utf8", env: { ...process.env, ANATOMY_SSL_QUIET: "1" } });
  assert.equal(r.status, 0, r.stdout + r.stderr);

  const html = fs.readFileSync(path.join(out, "00-tour.html"), "utf8");
  assert.equal(html.match(/\* plotly\.js v\d/g)?.length, 1, "plotly.js embedded exactly once");
  const figures = html.match(/window\.Plotly\.newPlot\(/g)?.length ?? 0;
  assert.ok(figures >= 1, "the tour draws at least one figure");
  assert.doesNotMatch(html, /<script[^>]*src="file:/, "no script loaded from this machine's disk");
  assert.match(html, /Rendered by <code>anatomy-ssl notebooks render<\/code> in small mode/);
  // The real samples of ../shared/data are never copied into a page: the tour fell back to its synthetic volume.
  assert.match(html, /no M&amp;Ms-2 data under [^:]*no-real-data: using the synthetic demo volume/);
  // Every code cell shows the number it ran as, like a notebook run by hand (In [1], In [2], ...).
  const prompts = [...html.matchAll(/In&nbsp;\[(\d+)\]/g)].map((m) => Number(m[1]));
  assert.ok(prompts.length >= 2, "execution counts on the code cells");
  assert.deepEqual(prompts, prompts.map((_, i) => i + 1));
  const index = JSON.parse(fs.readFileSync(path.join(out, "render.json"), "utf8")) as { notebook: string; html: string; mode: string }[];
  assert.deepEqual(index.map((x) => [x.notebook, x.html, x.mode]), [["notebooks/00-tour.ipynb", "00-tour.html", "small"]]);
  assert.match(fs.readFileSync(path.join(out, "README.md"), "utf8"), /\[00-tour\.html\]\(00-tour\.html\)/);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const remote: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route("**/*", (route) => {
      if (route.request().url().startsWith("file:")) return route.continue();
      remote.push(route.request().url());
      return route.abort();
    });
    await page.goto(`file://${path.join(out, "00-tour.html")}`, { waitUntil: "load" });
    await page.waitForFunction((n) => document.querySelectorAll(".js-plotly-plot .main-svg").length >= n, figures, { timeout: 60_000 });
    const drawn = await page.evaluate(() => document.querySelectorAll(".js-plotly-plot").length);
    assert.equal(drawn, figures, "every figure in the file drew");
    assert.deepEqual(errors, [], "no script error in the page");
    // Plotly's bundle mentions remote URLs in strings; the page itself must not need one to draw.
    assert.deepEqual(remote.filter((u) => !u.startsWith("data:")), [], "the page requested nothing from the network");
  } finally {
    await browser.close();
  }

  const bad = spawnSync(process.execPath, [cli, "notebooks", "render", "no-such-notebook", "--out", out], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no notebook 'no-such-notebook'/);
  fs.rmSync(out, { recursive: true, force: true });
});
