// The query/key length mixes every attention variant is checked on: SGLang's modes (prefill,
// extend after a cached prefix, decode, target-verify) and batches that mix them. The pairs are
// the ones the variants issue asks for.
export interface Mode {
  name: string;
  qLens: number[];
  kLens: number[];
}

export const MODES: Mode[] = [
  { name: "prefill", qLens: [64, 113, 1], kLens: [64, 113, 1] },
  { name: "extend", qLens: [3, 64, 64, 3, 113], kLens: [1024, 800, 256, 799, 203] },
  { name: "extend (long)", qLens: [128, 108, 256], kLens: [217, 256, 512] },
  { name: "decode", qLens: [1, 1, 1], kLens: [1, 339, 1024] },
  { name: "target-verify", qLens: [4, 4, 3], kLens: [300, 4, 57] },
  { name: "mixed batch", qLens: [1, 113, 1, 64], kLens: [339, 203, 1, 800] },
];

import type { PagedSpec } from "./paged.ts";

/** Options of each paged variant, varied across the modes (windows 0, 1, 17 and wider than any sequence). */
export const VARIANT_OPTIONS: Record<string, (i: number) => Partial<PagedSpec>> = {
  gqa_paged: (i) => ({ causal: i % 3 !== 2 }),
  gqa_paged_fp8: (i) => ({ causal: i % 3 !== 1 }),
  // gqa_paged with 16-row CUDA tiles: every mode still holds, however few rows a tile has.
  gqa_decode: (i) => ({ causal: i % 3 !== 0 }),
  gqa_decode_fp8: (i) => ({ causal: i % 3 !== 2 }),
  swa_paged: (i) => [{ causal: true, window: [0, 0] }, { causal: true, window: [1, 0] }, { causal: true, window: [17, 0] }, { causal: false, window: [17, 1] }, { causal: true, window: [5000, 0] }, { causal: false, window: [64, 64] }][i % 6] as Partial<PagedSpec>,
  local_paged: (i) => ({ causal: true, chunk: [64, 17, 256, 8, 1000, 32][i % 6] }),
  softcap_paged: (i) => ({ causal: i % 2 === 0, softcap: [2.5, 30, 0.5][i % 3] }),
  sinks_paged: (i) => ({ causal: i % 2 === 0, sinks: true }),
  alibi_paged: (i) => ({ causal: i % 3 !== 1, alibi: true }),
};
// The FP8-cache twins take their variant's options (the harness quantizes the cache for them).
for (const k of ["swa_paged", "local_paged", "softcap_paged", "sinks_paged"]) VARIANT_OPTIONS[`${k}_fp8`] = VARIANT_OPTIONS[k];
