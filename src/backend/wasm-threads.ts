/**
 * Multi-threaded tfjs wasm backend under Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build but never uses it in Node, for three reasons
 * (all in node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js):
 *  1. the flag WASM_HAS_MULTITHREAD_SUPPORT returns false whenever IS_NODE;
 *  2. emscripten starts its pthread pool (8 workers) with `new Worker(url)` where `url` is a
 *     blob: URL made by tfjs's locateFile, and the "load" message tells each worker to import the
 *     glue code from a Blob; Node's worker_threads can load neither;
 *  3. the C++ side uses min(requested threads, logical cores / 2) threads, and emscripten counts
 *     cores with os.cpus(): on a 2-core machine that is always 1 thread.
 * And once a pthread runs, emscripten ref()s its worker, so XNNPACK's pool (which never exits)
 * would keep Node alive after the program is done.
 *
 * What we do, only while the wasm backend initialises (we wrap its registered factory):
 *  - set WASM_HAS_MULTITHREAD_SUPPORT and setThreadsCount(n);
 *  - make the global `Worker` (which emscripten assigns just before creating its pool) a
 *    worker_threads subclass that runs tfjs's own worker source with `eval: true` (no file is
 *    written), points the "load" message at the package's threaded glue file on disk, and never
 *    ref()s the thread, so the process exits when the main thread is done (XNNPACK work is
 *    synchronous on the main thread, so nothing is lost);
 *  - let os.cpus() report at least 2n cores so the cores/2 cap allows n threads.
 * Any failure falls back to the single-threaded build with a warning.
 *
 * ANATOMY_SSL_WASM_THREADS=N chooses N threads (1 = the single-threaded build). The default is
 * defaultThreads() below, chosen from the measurement in bench/README.md.
 */
// `import =` gives the real module object, whose cpus property we can swap (a namespace import is read-only).
import os = require("node:os");
import * as path from "node:path";
import { Worker as NodeWorker, type TransferListItem, type WorkerOptions } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";

/** emscripten pre-allocates 8 pthread workers; asking for more would need more mid-run, which deadlocks in Node. */
const MAX_THREADS = 8;

/**
 * Default when ANATOMY_SSL_WASM_THREADS is unset: one thread per core (capped). On 2 cores the
 * U-Net training step took 2.46 s with 2 threads vs 2.96 s with 1 (bench/README.md, wasm kernels
 * only); only the XNNPACK kernels (conv, matMul) use the extra threads. The native oneDNN kernels,
 * when loaded, use the same count (backend/wasm.ts).
 */
function defaultThreads(): number {
  return Math.min(os.availableParallelism(), MAX_THREADS);
}

/** Parse ANATOMY_SSL_WASM_THREADS; throws on junk so a typo does not silently change speed. */
export function requestedWasmThreads(value = process.env.ANATOMY_SSL_WASM_THREADS): number {
  if (value === undefined || value === "" || value === "auto") return defaultThreads();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`ANATOMY_SSL_WASM_THREADS=${value} is not a positive integer (1 = single-threaded)`);
  if (n > MAX_THREADS) {
    console.error(`[anatomy-ssl] ANATOMY_SSL_WASM_THREADS=${n}: using ${MAX_THREADS}, the size of emscripten's thread pool`);
    return MAX_THREADS;
  }
  return n;
}

const PACKAGE = "@tensorflow/tfjs-backend-wasm";

/** The threaded build's worker source and glue file, or an Error saying what is missing. */
function threadedBuildFiles(): { workerSource: string; gluePath: string } | Error {
  try {
    const gluePath = require.resolve(`${PACKAGE}/wasm-out/tfjs-backend-wasm-threaded-simd.js`);
    // This .worker.js is a CommonJS module exporting the real worker script as a string.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(path.dirname(gluePath), "tfjs-backend-wasm-threaded-simd.worker.js")) as { wasmWorkerContents?: unknown };
    if (typeof mod.wasmWorkerContents !== "string") return new Error("tfjs-backend-wasm-threaded-simd.worker.js no longer exports wasmWorkerContents");
    // The script has a raw newline inside a string literal (threadPrintErr's "\n"), which eval
    // rejects; tfjs escapes newlines the same way before making its Blob.
    return { workerSource: mod.wasmWorkerContents.replace(/\n/g, "\\n"), gluePath };
  } catch (e) {
    return new Error(`threaded wasm build not found in ${PACKAGE}: ${(e as Error).message}`);
  }
}

type LoadWatcher = (error: Error) => void;

/**
 * The `Worker` class emscripten sees. blob: URLs are tfjs's pthread workers and get the treatment
 * described above; anything else behaves like a plain worker_threads Worker.
 */
function makeWorkerClass(workerSource: string, gluePath: string, onLoadFailure: LoadWatcher) {
  return class PthreadWorker extends NodeWorker {
    private readonly pthread: boolean;
    private loaded = false;
    private emscriptenOnError?: (e: unknown) => void;
    constructor(url: string | URL, options?: WorkerOptions) {
      const pthread = String(url).startsWith("blob:");
      super(pthread ? workerSource : url, pthread ? { eval: true } : options);
      this.pthread = pthread;
      if (!pthread) return;
      // A worker that dies before saying "loaded" leaves emscripten waiting forever: report it.
      this.on("message", (m: { cmd?: string }) => {
        if (m?.cmd === "loaded") this.loaded = true;
      });
      this.once("exit", (code) => this.loaded || onLoadFailure(new Error(`wasm pthread worker exited with code ${code} before loading`)));
    }
    // emscripten's worker "error" listener calls this.onerror, which rethrows on the main thread and
    // kills the process; before the worker has loaded we report the failure instead (-> 1 thread).
    get onerror(): (e: unknown) => void {
      return (e) => {
        if (!this.pthread || this.loaded) this.emscriptenOnError?.(e);
        else onLoadFailure(e instanceof Error ? e : new Error(String(e)));
      };
    }
    set onerror(handler: (e: unknown) => void) {
      this.emscriptenOnError = handler;
    }
    // emscripten ref()s a worker while a pthread runs on it; XNNPACK's pool threads run forever.
    override ref(): void {
      if (!this.pthread) super.ref();
    }
    override postMessage(message: unknown, transferList?: readonly TransferListItem[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      // tfjs sends its glue code as a Blob; the worker can import a file path instead.
      if (this.pthread && m?.cmd === "load") message = { ...m, urlOrBlob: gluePath };
      super.postMessage(message, transferList);
    }
  };
}

/**
 * Make os.cpus() report at least `cores` entries (emscripten_num_logical_cores reads it when the
 * backend is constructed); returns the function that puts the real os.cpus back.
 */
function reportCores(cores: number): () => void {
  const realCpus = os.cpus;
  os.cpus = () => {
    const list = realCpus();
    return list.length >= cores || list.length === 0 ? list : Array.from({ length: cores }, (_, i) => list[i % list.length]);
  };
  return () => {
    os.cpus = realCpus;
  };
}

let configured = false;

/**
 * Arrange for the next tf.setBackend("wasm") to load the threaded build with the requested thread
 * count. Must run before the wasm backend is first initialised; does nothing for 1 thread.
 * The result shows up in wasm.getThreadsCount() once the backend is ready.
 */
export function configureWasmThreads(threads = requestedWasmThreads()): void {
  if (configured || threads <= 1) return;
  const original = tf.findBackendFactory("wasm");
  if (original === null || tf.engine().registry.wasm !== undefined) return; // not registered, or already initialised
  const files = threadedBuildFiles();
  if (files instanceof Error) {
    console.error(`[anatomy-ssl] wasm threads unavailable, using 1 thread: ${files.message}`);
    return;
  }
  configured = true;

  const singleThreaded = async () => {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    wasm.setThreadsCount(1);
    return original();
  };

  const threaded = async () => {
    if (!(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) {
      console.error("[anatomy-ssl] wasm threads need SIMD, which this runtime lacks: using 1 thread");
      return singleThreaded();
    }
    let failed: (e: Error) => void = () => {};
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => {}); // observed through Promise.race below
    const PthreadWorker = makeWorkerClass(files.workerSource, files.gluePath, (e) => failed(e));
    // emscripten does `globalThis.Worker = require("worker_threads").Worker` and then `new Worker(...)`
    // in the same call: an accessor whose setter ignores that assignment keeps our class in place.
    Object.defineProperty(globalThis, "Worker", { configurable: true, get: () => PthreadWorker, set: () => {} });
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    wasm.setThreadsCount(threads);
    const restoreCpus = reportCores(2 * threads);
    try {
      return await Promise.race([original(), failure]);
    } catch (e) {
      console.error(`[anatomy-ssl] threaded wasm failed to start (${(e as Error).message}): using 1 thread`);
      return singleThreaded();
    } finally {
      restoreCpus();
      // Leave a plain, writable global (emscripten may create more workers later, and stock
      // emscripten also leaves a global Worker behind); only blob: URLs are treated specially.
      Object.defineProperty(globalThis, "Worker", { configurable: true, writable: true, value: PthreadWorker });
    }
  };

  // Re-register under the same name and priority (2, as in tfjs-backend-wasm/dist/base.js).
  // Kernels are registered per backend name, so registerTrainingKernels() is unaffected.
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", threaded, 2);
}
