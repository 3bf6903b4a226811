/**
 * Backend selection. Order of preference: tfjs-node-gpu > tfjs-node > wasm > cpu.
 *
 * The native packages cannot be installed offline (their install step downloads libtensorflow),
 * so they are never dependencies: we try to `require` them and fall back when they are absent.
 * ANATOMY_SSL_BACKEND=node-gpu|node|wasm|cpu forces a choice (and fails loudly if unavailable).
 */
import * as tf from "@tensorflow/tfjs";

export type BackendChoice = "node-gpu" | "node" | "wasm" | "cpu";

export interface BackendInfo {
  /** What we picked. */
  choice: BackendChoice;
  /** tfjs's own name for the active backend ("tensorflow", "wasm", "cpu"). */
  tfBackend: string;
  /** wasm only: threads used by XNNPACK (1 when the single-threaded build is loaded). */
  threads?: number;
  /** wasm only: SIMD build loaded. */
  simd?: boolean;
  /** wasm only: version of the oneDNN library behind the native kernels, when they are in use. */
  native?: string;
  /** wasm only: why the native kernels are not in use. */
  nativeSkipped?: string;
  /** Why each better backend was not used. */
  skipped: string[];
}

const ORDER: BackendChoice[] = ["node-gpu", "node", "wasm", "cpu"];
const NATIVE_PACKAGE: Record<"node-gpu" | "node", string> = {
  "node-gpu": "@tensorflow/tfjs-node-gpu",
  node: "@tensorflow/tfjs-node",
};

let active: Promise<BackendInfo> | undefined;

/** Parse the ANATOMY_SSL_BACKEND value; throws on unknown names so typos do not silently fall back. */
export function parseBackendChoice(value: string | undefined): BackendChoice | undefined {
  if (value === undefined || value === "" || value === "auto") return undefined;
  if ((ORDER as string[]).includes(value)) return value as BackendChoice;
  throw new Error(`ANATOMY_SSL_BACKEND=${value} is not one of ${ORDER.join(", ")}, auto`);
}

async function tryNative(choice: "node-gpu" | "node"): Promise<string | undefined> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(NATIVE_PACKAGE[choice]);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "MODULE_NOT_FOUND" ? `${NATIVE_PACKAGE[choice]} not installed` : `${NATIVE_PACKAGE[choice]} failed to load: ${(e as Error).message}`;
  }
  if (!(await tf.setBackend("tensorflow"))) return `${NATIVE_PACKAGE[choice]} loaded but its backend did not initialise`;
  return undefined;
}

async function tryWasm(): Promise<string | undefined> {
  try {
    const { setupWasm } = await import("./wasm.js");
    await setupWasm();
  } catch (e) {
    return `wasm backend failed: ${(e as Error).message}`;
  }
  return undefined;
}

async function select(forced: BackendChoice | undefined, quiet: boolean): Promise<BackendInfo> {
  const skipped: string[] = [];
  const candidates = forced ? [forced] : ORDER;
  for (const choice of candidates) {
    let why: string | undefined;
    if (choice === "node-gpu" || choice === "node") why = await tryNative(choice);
    else if (choice === "wasm") why = await tryWasm();
    else why = (await tf.setBackend("cpu")) ? undefined : "cpu backend did not initialise";
    if (why !== undefined) {
      if (forced) throw new Error(`ANATOMY_SSL_BACKEND=${forced} requested but unavailable: ${why}`);
      skipped.push(`${choice}: ${why}`);
      continue;
    }
    await tf.ready();
    const info: BackendInfo = { choice, tfBackend: tf.getBackend(), skipped };
    if (choice === "wasm") {
      const { wasmDetails } = await import("./wasm.js");
      Object.assign(info, wasmDetails());
    }
    if (!quiet) console.error(`[anatomy-ssl] backend: ${describeBackend(info)}`);
    return info;
  }
  throw new Error(`no tfjs backend could be initialised:\n  ${skipped.join("\n  ")}`);
}

/** One-line human description, e.g. "wasm (SIMD, 2 threads) + native oneDNN 2.6.3 kernels". */
export function describeBackend(info: BackendInfo): string {
  let s = info.choice;
  if (info.choice === "wasm") {
    s += ` (${info.simd ? "SIMD" : "no SIMD"}, ${info.threads} thread${info.threads === 1 ? "" : "s"})`;
    s += info.native !== undefined ? ` + native oneDNN ${info.native} kernels` : `, native kernels not used: ${info.nativeSkipped}`;
  }
  return s;
}

/**
 * Initialise the best available backend once per process and return what was chosen.
 * Safe to call from many places: later calls return the first result.
 * Never switch backends while tensors are alive (wasm tensors live on its heap), so there is no
 * way to re-select after the first call.
 */
export function initBackend(options: { quiet?: boolean } = {}): Promise<BackendInfo> {
  active ??= select(parseBackendChoice(process.env.ANATOMY_SSL_BACKEND), options.quiet ?? false);
  return active;
}

export { tf };
