/**
 * The papers `reproduce`, `cli help` and the notebooks know. A new paper adds its files under
 * papers/ and one line here; nothing in reproduce.ts or the CLI changes.
 */
import { BAI2019 } from "./papers/bai2019.js";
import { BASELINES_CARDIAC } from "./papers/baselines-cardiac.js";
import { BASELINES_KIDNEY } from "./papers/baselines-kidney.js";
import { BASELINES_PGL } from "./papers/baselines-pgl.js";
import { KIDNEY } from "./papers/kidney.js";
import { PGL } from "./papers/pgl.js";
import { ZHANG2024 } from "./papers/zhang2024.js";
import type { Paper } from "./protocol.js";

// Each paper is typed with its own config and data; reproduce only hands them back to the same
// paper's functions, so the registry can hold them under the general type.
export const PAPERS: readonly Paper[] = [BAI2019 as unknown as Paper, ZHANG2024 as unknown as Paper, KIDNEY as unknown as Paper, PGL as unknown as Paper];

/**
 * The generic SSL baselines on each paper's data (issue 14). Not part of `all`: they run with
 * `reproduce baselines`, which also writes the leaderboards.
 */
export const BASELINE_PAPERS: readonly Paper[] = [BASELINES_CARDIAC as unknown as Paper, BASELINES_KIDNEY as unknown as Paper, BASELINES_PGL as unknown as Paper];

export function findPaper(name: string): Paper {
  const paper = [...PAPERS, ...BASELINE_PAPERS].find((p) => p.name === name);
  if (!paper) throw new Error(`unknown paper '${name}' (available: ${[...PAPERS, ...BASELINE_PAPERS].map((p) => p.name).join(", ")}, all, or baselines)`);
  return paper;
}
