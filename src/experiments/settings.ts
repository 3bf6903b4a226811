/**
 * Validating a protocol's settings before anything runs. A bad value (negative steps, an empty
 * seed list, a budget larger than the labelled pool...) would otherwise train nothing, divide by
 * zero, or write a table from untrained networks. Each paper declares a rule per setting; every
 * problem is reported at once, naming the setting, its value and what is allowed.
 */

export interface Rule {
  /** True when the value is acceptable. */
  ok: (value: unknown) => boolean;
  /** What is allowed, for the message ("an integer >= 1"). */
  allowed: string;
}

export type Rules = Record<string, Rule>;

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

export const rule = {
  int: (min: number, max = Infinity): Rule => ({ ok: (v) => isInt(v) && v >= min && v <= max, allowed: max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}` }),
  positive: (): Rule => ({ ok: (v) => typeof v === "number" && Number.isFinite(v) && v > 0, allowed: "a number > 0" }),
  nonNegative: (): Rule => ({ ok: (v) => typeof v === "number" && Number.isFinite(v) && v >= 0, allowed: "a number >= 0" }),
  range: (lo: number, hi: number): Rule => ({ ok: (v) => typeof v === "number" && v >= lo && v <= hi, allowed: `a number from ${lo} to ${hi}` }),
  /** A non-empty list of distinct integers >= min. */
  intList: (min: number): Rule => ({ ok: (v) => Array.isArray(v) && v.length > 0 && v.every((x) => isInt(x) && x >= min) && new Set(v).size === v.length, allowed: `a non-empty comma list of distinct integers >= ${min}` }),
  oneOf: (values: readonly string[]): Rule => ({ ok: (v) => typeof v === "string" && values.includes(v), allowed: `one of ${values.join(", ")}` }),
  /** A non-empty list of distinct values, each from `values`. */
  subsetOf: (values: readonly string[]): Rule => ({ ok: (v) => Array.isArray(v) && v.length > 0 && v.every((x) => values.includes(x as string)) && new Set(v).size === v.length, allowed: `a non-empty comma list of distinct values from ${values.join(", ")}` }),
  /** A list of distinct values, each from `values`, possibly empty (an optional extra, like evaluated-only pretexts). */
  optionalSubsetOf: (values: readonly string[]): Rule => ({ ok: (v) => Array.isArray(v) && v.every((x) => values.includes(x as string)) && new Set(v).size === v.length, allowed: `a comma list (possibly empty) of distinct values from ${values.join(", ")}` }),
  /** Exactly n numbers (x, y, z of a vector), each >= min. */
  vector: (n: number, min: number): Rule => ({ ok: (v) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number" && Number.isFinite(x) && x >= min), allowed: `${n} comma-separated numbers, each >= ${min}` }),
  /** Exactly n integers, each >= min. */
  intVector: (n: number, min: number): Rule => ({ ok: (v) => Array.isArray(v) && v.length === n && v.every((x) => isInt(x) && x >= min), allowed: `${n} comma-separated integers, each >= ${min}` }),
  /** Exactly n true/false values. */
  boolVector: (n: number): Rule => ({ ok: (v) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === "boolean"), allowed: `${n} comma-separated true/false values` }),
  bool: (): Rule => ({ ok: (v) => typeof v === "boolean", allowed: "true or false" }),
  /** [low, high] with 0 < low <= high. */
  interval: (): Rule => ({ ok: (v) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && x > 0) && (v[0] as number) <= (v[1] as number), allowed: "two numbers low,high with 0 < low <= high" }),
};

const get = (config: object, key: string): unknown => key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), config);

const show = (v: unknown): string => (Array.isArray(v) ? (v.length === 0 ? "(empty)" : v.join(",")) : v === undefined ? "(missing)" : String(v));

/** A problem with one setting, worded for the user. */
export function settingProblem(key: string, value: unknown, allowed: string): string {
  return `setting ${key} = ${show(value)}: must be ${allowed}`;
}

/**
 * Check `config` against `rules` plus cross-setting `checks` (each returns problems). Throws one
 * error listing every problem; `where` names the configuration (e.g. "reproduce bai2019").
 */
export function validateSettings(where: string, config: object, rules: Rules, checks: ((config: never) => string[])[] = []): void {
  const problems: string[] = [];
  for (const [key, r] of Object.entries(rules)) {
    const value = get(config, key);
    if (!r.ok(value)) problems.push(settingProblem(key, value, r.allowed));
  }
  // Cross-setting checks assume each setting is well formed on its own.
  if (problems.length === 0) for (const check of checks) problems.push(...check(config as never));
  if (problems.length > 0) throw new Error(`${where}: invalid settings (change them with --set KEY=VALUE):\n  ${problems.join("\n  ")}`);
}
