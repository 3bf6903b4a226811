/**
 * Ablations are config changes, not code changes: `key.path=value` overrides applied to a
 * paper's config, from the CLI (`--set finetune.maxSteps=200`) or a notebook cell. Values are parsed
 * to the type of the default they replace (number, boolean, string, or a comma list of those),
 * unknown keys are errors, and the applied overrides are recorded with the results.
 */

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function parseLike(def: Json, raw: string, key: string): Json {
  if (Array.isArray(def)) {
    const sample = def[0] ?? "";
    return raw === "" ? [] : raw.split(",").map((part) => parseLike(sample, part.trim(), key));
  }
  switch (typeof def) {
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new Error(`--set ${key}: '${raw}' is not a number`);
      return n;
    }
    case "boolean":
      if (raw !== "true" && raw !== "false") throw new Error(`--set ${key}: '${raw}' is not true or false`);
      return raw === "true";
    case "string":
      return raw;
    default:
      throw new Error(`--set ${key}: cannot override an object; set one of its fields`);
  }
}

/** A copy of `config` with `overrides` ("a.b=1") applied. */
export function applyOverrides<T extends object>(config: T, overrides: string[]): T {
  const out = JSON.parse(JSON.stringify(config)) as Record<string, Json>;
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new Error(`--set '${o}': expected key=value`);
    const key = o.slice(0, eq);
    const path = key.split(".");
    let node: Record<string, Json> = out;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) throw new Error(`--set ${key}: no such setting (${part})`);
      node = next as Record<string, Json>;
    }
    const leaf = path[path.length - 1];
    if (!(leaf in node)) throw new Error(`--set ${key}: no such setting; known here: ${Object.keys(node).join(", ")}`);
    node[leaf] = parseLike(node[leaf], o.slice(eq + 1), key);
  }
  return out as T;
}
