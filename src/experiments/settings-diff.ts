/**
 * Which settings two runs disagree on. Merging shards, spot checks and leaderboards all refuse or
 * flag runs made with other settings, and each must name the settings, as `--set` spells them.
 */

export interface SettingDifference {
  /** Dotted path of the leaf ("finetune.maxSteps"); "" when the two values are not both objects. */
  key: string;
  /** JSON text of each side, undefined where that side lacks the key. */
  there: string | undefined;
  here: string | undefined;
}

/**
 * The leaves where two JSON values differ, sorted by key. Arrays are leaves (a seed list differs
 * as a whole), and an absent key equals an undefined one, so callers can blank out settings
 * they do not compare by setting them to undefined.
 */
export function differingLeaves(there: unknown, here: unknown): SettingDifference[] {
  const flat = (x: unknown, prefix: string, out: Map<string, string | undefined>) => {
    if (x !== null && typeof x === "object" && !Array.isArray(x)) for (const [k, v] of Object.entries(x)) flat(v, prefix ? `${prefix}.${k}` : k, out);
    else out.set(prefix, JSON.stringify(x));
    return out;
  };
  const a = flat(there, "", new Map());
  const b = flat(here, "", new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((key) => ({ key, there: a.get(key), here: b.get(key) }));
}
