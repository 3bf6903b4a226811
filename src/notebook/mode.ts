/**
 * Notebook run size. The notebook test harness sets ANATOMY_SSL_NOTEBOOK_MODE=small so every
 * notebook executes in seconds; a person running Jupyter gets "full" unless they set it.
 */
export type NotebookMode = "small" | "full";

export function notebookMode(env: NodeJS.ProcessEnv = process.env): NotebookMode {
  const v = (env.ANATOMY_SSL_NOTEBOOK_MODE ?? "full").trim().toLowerCase();
  if (v === "small" || v === "full") return v;
  throw new Error(`ANATOMY_SSL_NOTEBOOK_MODE must be "small" or "full", got "${env.ANATOMY_SSL_NOTEBOOK_MODE}"`);
}
