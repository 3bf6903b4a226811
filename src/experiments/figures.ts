/**
 * Figures for results/: interactive plotly HTML (plotly.js is copied once next to the figures,
 * so results render offline and stay small) and PNG snapshots taken with headless Chromium when
 * it is installed (Debian's /usr/bin/chromium; ANATOMY_SSL_CHROMIUM overrides). Montages of
 * slices with label overlays are drawn directly as PNG.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodePng } from "../io/png.js";

export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** Half-widths of error bars (e.g. sd across seeds). */
  error?: number[];
}

/** Copy plotly.min.js into `dir` (once) and return the file name to reference. */
export function ensurePlotlyAsset(dir: string): string {
  const target = path.join(dir, "plotly.min.js");
  if (!fs.existsSync(target)) {
    const source = require.resolve("plotly.js-dist-min");
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(source, target);
  }
  return "plotly.min.js";
}

/** A line chart with error bars as a standalone HTML page using ./plotly.min.js. */
export function lineChartHtml(title: string, series: Series[], axes: { x: string; y: string; logX?: boolean }, plotlySrc = "plotly.min.js"): string {
  const traces = series.map((s) => ({
    type: "scatter",
    mode: "lines+markers",
    name: s.name,
    x: s.x,
    y: s.y,
    error_y: s.error ? { type: "data", array: s.error, visible: true } : undefined,
  }));
  const layout = {
    title: { text: title },
    xaxis: { title: { text: axes.x }, type: axes.logX ? "log" : "linear", tickvals: axes.logX ? [...new Set(series.flatMap((s) => s.x))] : undefined },
    yaxis: { title: { text: axes.y } },
    width: 900,
    height: 600,
    margin: { t: 70, b: 130 },
    // Below the plot: long method names beside it would squeeze the axes.
    legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
  };
  return plotlyPageHtml(title, traces, layout, plotlySrc);
}

/** A standalone HTML page drawing one plotly figure with ./plotly.min.js (or `plotlySrc`). */
export function plotlyPageHtml(title: string, traces: unknown[], layout: unknown, plotlySrc = "plotly.min.js"): string {
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><script src="${plotlySrc}"></script></head>
<body><div id="fig"></div><script>Plotly.newPlot("fig", ${json(traces)}, ${json(layout)}, {displayModeBar: false});</script></body></html>\n`;
}

export function chromiumPath(): string | undefined {
  const candidates = [process.env.ANATOMY_SSL_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((c): c is string => c !== undefined && fs.existsSync(c));
}

/**
 * Screenshot an HTML file to PNG with headless Chromium. Returns a reason string when it could
 * not (no browser, or the browser failed), so callers can say why a PNG is missing.
 */
export function htmlToPng(htmlFile: string, pngFile: string, width = 920, height = 620): string | undefined {
  const chromium = chromiumPath();
  if (!chromium) return "no Chromium found (`npm run setup` installs Debian's chromium; or apt-get install chromium, or set ANATOMY_SSL_CHROMIUM to a Chromium binary)";
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "anatomy-ssl-chromium-"));
  const r = spawnSync(
    chromium,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, "--hide-scrollbars", "--virtual-time-budget=10000", `--window-size=${width},${height}`, `--screenshot=${path.resolve(pngFile)}`, `file://${path.resolve(htmlFile)}`],
    { encoding: "utf8", timeout: 120_000 },
  );
  fs.rmSync(profile, { recursive: true, force: true });
  if (r.status !== 0 || !fs.existsSync(pngFile)) return `chromium failed (status ${r.status}): ${(r.stderr ?? "").split("\n").slice(-3).join(" ")}`;
  return undefined;
}

/** Colours for label values 1..n over a grey image (0 is transparent). */
export const LABEL_COLOURS: [number, number, number][] = [
  [230, 60, 60], [60, 200, 60], [70, 120, 255], [240, 200, 40], [200, 80, 220], [40, 210, 210], [255, 140, 40], [150, 150, 255], [160, 255, 120],
];

/** One montage tile: a size x size grey image (0..1) with an optional label overlay. */
export interface Tile {
  image: Float32Array;
  labels?: Uint8Array;
}

/**
 * Tiles in a grid (`columns` per row), each drawn at `zoom` x, labels blended at 45%.
 * Row-major images, x fastest, y down (as stored in our stacks).
 */
export function montagePng(tiles: Tile[], size: number, columns: number, zoom = 3): Buffer {
  const rows = Math.ceil(tiles.length / columns);
  const W = columns * size * zoom;
  const H = rows * size * zoom;
  const px = new Uint8Array(W * H * 3);
  tiles.forEach((t, n) => {
    const ox = (n % columns) * size * zoom;
    const oy = Math.floor(n / columns) * size * zoom;
    for (let y = 0; y < size * zoom; y++) {
      for (let x = 0; x < size * zoom; x++) {
        const o = Math.floor(x / zoom) + size * Math.floor(y / zoom);
        const g = Math.max(0, Math.min(255, 255 * t.image[o]));
        let rgb: [number, number, number] = [g, g, g];
        const l = t.labels?.[o] ?? 0;
        if (l > 0) {
          const c = LABEL_COLOURS[(l - 1) % LABEL_COLOURS.length];
          rgb = [0.55 * g + 0.45 * c[0], 0.55 * g + 0.45 * c[1], 0.55 * g + 0.45 * c[2]];
        }
        px.set(rgb, ((oy + y) * W + ox + x) * 3);
      }
    }
  });
  return encodePng(W, H, px, 3);
}
