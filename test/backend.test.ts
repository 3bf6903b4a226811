// Backend selection: each case runs in its own process because the choice is made once per process.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

const cli = path.resolve(__dirname, "../src/cli.js");

function info(backend: string | undefined) {
  const env = { ...process.env };
  delete env.ANATOMY_SSL_BACKEND;
  if (backend !== undefined) env.ANATOMY_SSL_BACKEND = backend;
  const r = spawnSync(process.execPath, [cli, "info"], { env, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test("default picks the best installed backend and says why better ones were skipped", () => {
  const r = info(undefined);
  assert.equal(r.status, 0, r.err);
  const line = r.out.split("\n").find((l) => l.startsWith("backend: "));
  assert.ok(line, r.out);
  // tfjs-node is not installable offline; where it is absent wasm must be chosen, not cpu.
  if (r.out.includes("@tensorflow/tfjs-node absent")) {
    assert.match(line, /^backend: wasm \(SIMD, \d+ threads?\)/);
    assert.match(r.out, /not used: node: @tensorflow\/tfjs-node not installed/);
  }
});

test("ANATOMY_SSL_BACKEND=cpu forces the cpu backend", () => {
  const r = info("cpu");
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^backend: cpu$/m);
});

test("a forced backend that is not installed fails loudly instead of falling back", () => {
  const r = info("node");
  if (r.status === 0) return; // a machine with tfjs-node installed: nothing to check
  assert.match(r.err, /ANATOMY_SSL_BACKEND=node requested but unavailable: @tensorflow\/tfjs-node not installed/);
});

test("an unknown backend name is an error, not a silent default", () => {
  const r = info("wsam");
  assert.notEqual(r.status, 0);
  assert.match(r.err, /ANATOMY_SSL_BACKEND=wsam is not one of node-gpu, node, wasm, cpu, auto/);
});
