/**
 * Progress of a long loop on stderr: steps/s, ETA and the latest metrics. On a terminal the line
 * is redrawn in place; elsewhere (CI logs, notebooks) a line is printed every `intervalMs`.
 * ANATOMY_SSL_QUIET=1 silences it.
 */
export class Progress {
  private readonly started = performance.now();
  private lastPrint = 0;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly quiet = process.env.ANATOMY_SSL_QUIET === "1";

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly startStep = 0,
    private readonly intervalMs = 10_000,
  ) {}

  /** Report that `done` steps of `total` are finished; `metrics` are shown as name=value. */
  update(done: number, metrics: Record<string, number> = {}): void {
    if (this.quiet) return;
    const now = performance.now();
    const finished = done >= this.total;
    if (!finished && now - this.lastPrint < (this.tty ? 200 : this.intervalMs)) return;
    this.lastPrint = now;
    const seconds = (now - this.started) / 1000;
    const rate = (done - this.startStep) / Math.max(seconds, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const shown = Object.entries(metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(" ");
    const line = `${this.label} ${done}/${this.total} ${rate.toFixed(2)} steps/s ETA ${formatDuration(eta)} ${shown}`;
    if (this.tty) process.stderr.write(`\r${line.padEnd(100)}${finished ? "\n" : ""}`);
    else process.stderr.write(`${line}\n`);
  }
}

function formatNumber(x: number): string {
  return Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
