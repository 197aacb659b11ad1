// Which case builder checks which kernel (by the kernel's name in its spec), and the default
// case the main job runs for it. Adding a spec to kernels-src means adding its reference here.
import type { Rng } from "../reference/numeric.ts";
import type { KernelCase } from "./case.ts";
import { mhaPrefillCase } from "./mha.ts";

export type CaseBuilder = (params: Record<string, unknown>, rng: Rng) => KernelCase;

export const DEFAULT_CASES: Record<string, CaseBuilder> = {
  mha_prefill: (p, rng) => mhaPrefillCase(p, { qLens: [1, 7, 65, 257], kLens: [1, 9, 100, 257], heads: 2 }, rng),
};
