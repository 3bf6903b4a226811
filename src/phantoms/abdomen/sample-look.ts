/**
 * A subject's CT appearance: one HU value per material (population mean plus between-subject
 * spread, tissues.ts) and the image noise.
 *
 * Noise: the sd is given for 3 mm slices and acquire.ts scales it with sqrt(3 / slice
 * thickness) (quantum noise falls with the square root of the photons per voxel, and the slice
 * thickness is the dose-relevant dimension; in-plane pixel size mostly reflects the
 * reconstruction kernel, not photon count). 8-18 HU spans routine abdominal CT at 3-5 mm; the
 * real sample (3 mm) measures 12-13 HU inside eroded liver, spleen and aorta masks.
 */
import type { Random } from "../../random.js";
import { HU_BY_PHASE, MATERIALS, type ContrastPhase, type Material } from "./tissues.js";

export function sampleLook(rng: Random, phase: ContrastPhase): { phase: ContrastPhase; hu: Record<Material, number>; noiseSd: number } {
  const table = HU_BY_PHASE[phase];
  const hu = {} as Record<Material, number>;
  for (const m of MATERIALS) {
    const [mean, sd] = table[m];
    // Clip at 2.5 sd: a tail draw must not turn muscle into fat.
    hu[m] = mean + sd * Math.max(-2.5, Math.min(2.5, rng.normal()));
  }
  return { phase, hu, noiseSd: rng.uniform(8, 18) };
}
