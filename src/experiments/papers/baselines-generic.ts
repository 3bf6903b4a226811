/**
 * The generic SSL pretexts every baseline run shares (issue 14): one method per pretext, each
 * fine-tuned the way its host paper fine-tunes its own pretext. The pretexts themselves live in
 * src/pretext/ (one file each); a host paper supplies a GenericHost (src/pretext/generic.ts).
 */
import { simclrPretext } from "../../pretext/simclr.js";
import { genesisPretext } from "../../pretext/models-genesis.js";
import { mimPretext } from "../../pretext/masked-image-modelling.js";
import { rotationPretext } from "../../pretext/rotation.js";
import type { GenericHost } from "../../pretext/generic.js";
import type { Method, Pretext } from "../protocol.js";

export const GENERIC_METHODS = {
  rotation: { name: "rotation", label: "rotation prediction (generic)", pretext: "rotation" },
  genesis: { name: "genesis", label: "Models Genesis restoration (generic)", pretext: "genesis" },
  simclr: { name: "simclr", label: "SimCLR contrastive (generic)", pretext: "simclr" },
  mim: { name: "mim", label: "masked image modelling (generic)", pretext: "mim" },
} as const satisfies Record<string, Method>;

export type GenericName = keyof typeof GENERIC_METHODS;

/** The pretexts named, for one host. */
export function genericPretexts<C, D>(host: GenericHost<C, D>, names: readonly GenericName[]): Pretext<C, D>[] {
  const make: Record<GenericName, () => Pretext<C, D>> = {
    rotation: () => rotationPretext(host),
    genesis: () => genesisPretext(host),
    simclr: () => simclrPretext(host),
    mim: () => mimPretext(host),
  };
  return names.map((n) => make[n]());
}
