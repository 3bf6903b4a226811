/**
 * The optional oneDNN addon in tests. CI builds it (`npm run setup` runs
 * scripts/build-native.sh --required): there, and with ANATOMY_SSL_NATIVE=1, a missing addon
 * fails the native tests; elsewhere they are skipped with the reason.
 */
import assert from "node:assert/strict";
import { addonUnavailableReason } from "../../src/backend/native/addon.js";

export const NATIVE_REQUIRED = process.env.CI === "true" || process.env.ANATOMY_SSL_NATIVE === "1";

/** Why the addon is not in use, or undefined when it is (ANATOMY_SSL_NATIVE=1 makes loading throw). */
export function addonMissing(): string | undefined {
  try {
    return addonUnavailableReason();
  } catch (e) {
    return (e as Error).message;
  }
}

/** true (after skipping `t`) when the native variant cannot run; fails where the addon is required. */
export function skipWithoutAddon(t: { skip(message?: string): void }, missing = addonMissing()): boolean {
  if (missing === undefined) return false;
  assert.ok(!NATIVE_REQUIRED, `the oneDNN addon is required here (CI=true or ANATOMY_SSL_NATIVE=1) but unavailable: ${missing}`);
  t.skip(`addon not loaded: ${missing}`);
  return true;
}
