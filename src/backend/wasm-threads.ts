/** Multi-threaded wasm under Node (issue 2, item 2): measured, kept only if faster. */
export function configureWasmThreads(): void {
  // filled in by the threads measurement
}
