// The CUDA correctness matrix: for every kernel family, the modes and options of the WebGPU tests
// plus what only a GPU makes cheap: long contexts (16k, 64k keys) and batches of up to 256.
// Each entry is a recipe (kernel family, case builder arguments); cases are built from a seed so
// worker threads can build them (and their float64 references) in parallel.
import type { KernelManifest } from "../../runtime/manifest.ts";
import type { Rng } from "../reference/numeric.ts";
import type { KernelCase } from "./case.ts";
import { decodeSplitCase, fp8EdgeCase, kvWriteCase, mergeCase } from "./decode.ts";
import { mhaPrefillCase } from "./mha.ts";
import { mlaCase, mlaSplitCase } from "./mla.ts";
import { MODES, VARIANT_OPTIONS } from "./modes.ts";
import { pagedCase } from "./paged.ts";

export type Recipe = { label: string; build: (m: KernelManifest, rng: Rng) => KernelCase };

/** 256 decode requests of lengths spread over 1..600, and long single contexts. */
const BIG_BATCH = Array.from({ length: 256 }, (_, i) => 1 + ((i * 37) % 600));

export function cudaRecipes(kernel: string): Recipe[] {
  const paged = VARIANT_OPTIONS[kernel];
  if (paged) {
    return [
      ...MODES.map((mode, i) => ({ label: mode.name, build: (m: KernelManifest, rng: Rng) => pagedCase(m, { qLens: mode.qLens, kLens: mode.kLens, kvHeads: 2, ...paged(i) }, rng) })),
      { label: "decode, batch 256", build: (m, rng) => pagedCase(m, { qLens: BIG_BATCH.map(() => 1), kLens: BIG_BATCH, kvHeads: 1, ...paged(3) }, rng) },
      { label: "decode, 16k and 64k", build: (m, rng) => pagedCase(m, { qLens: [1, 1], kLens: [16384, 65536], kvHeads: 1, ...paged(3) }, rng) },
      { label: "extend, 16k prefix", build: (m, rng) => pagedCase(m, { qLens: [64], kLens: [16384], kvHeads: 1, ...paged(0) }, rng) },
    ];
  }
  switch (kernel) {
    case "mha_prefill":
      return [
        { label: "1..1000, mixed", build: (m, rng) => mhaPrefillCase(m.params, { qLens: [1, 7, 63, 64, 65, 257, 1000], heads: 2 }, rng) },
        { label: "prefixes and empty rows", build: (m, rng) => mhaPrefillCase(m.params, { qLens: [7, 65, 1, 65], kLens: [63, 300, 40, 7], heads: 2 }, rng) },
        { label: "2k", build: (m, rng) => mhaPrefillCase(m.params, { qLens: [2048], heads: 1 }, rng) },
        { label: "NaN rows past the keys", build: (m, rng) => mhaPrefillCase(m.params, { qLens: [100, 37], kLens: [300, 37], heads: 2, padKeys: 128 }, rng) },
        // A ragged batch of more row tiles than an H100's or H200's SMs (5 x 4 x 48 = 960 at
        // 128 rows), many past a short request's rows: every block of a wave and the next.
        { label: "48 requests, 1..600", build: (m, rng) => mhaPrefillCase(m.params, { qLens: BIG_BATCH.slice(0, 48), heads: 4 }, rng) },
      ];
    case "mla_paged":
    case "mla_paged_fp8":
      // Row tiles pack the heads of a token: 16 heads (4 tokens a tile) in the modes, DeepSeek's
      // 128 (half a token a tile) for decode and two-token (MTP) verification.
      return [
        ...MODES.map((mode, i) => ({
          label: mode.name,
          build: (m: KernelManifest, rng: Rng) => {
            const qLens = mode.qLens.map((q) => Math.min(q, 64));
            return mlaCase(m, { qLens, kLens: mode.kLens.map((k, j) => Math.max(k, qLens[j])), heads: 16, causal: i % 2 === 0 }, rng);
          },
        })),
        { label: "decode, 128 heads, 32 requests", build: (m, rng) => mlaCase(m, { qLens: BIG_BATCH.slice(0, 32).map(() => 1), kLens: BIG_BATCH.slice(0, 32).map((k) => 3 * k), heads: 128 }, rng) },
        { label: "decode, 128 heads, 16k", build: (m, rng) => mlaCase(m, { qLens: [1], kLens: [16384], heads: 128 }, rng) },
        { label: "2 tokens (MTP), 128 heads, causal", build: (m, rng) => mlaCase(m, { qLens: [2, 2], kLens: [1000, 77], heads: 128, causal: true }, rng) },
      ];
    case "mla_decode_split":
    case "mla_decode_split_fp8":
      return [
        { label: "3 requests, 16 heads, split 128", build: (m, rng) => mlaSplitCase(m, { kLens: [1, 339, 1024], heads: 16, splitLen: 128 }, rng) },
        { label: "16k, 128 heads, split 2048", build: (m, rng) => mlaSplitCase(m, { kLens: [16384, 77], heads: 128, splitLen: 2048 }, rng) },
        { label: "64 requests, 128 heads, split 256", build: (m, rng) => mlaSplitCase(m, { kLens: BIG_BATCH.slice(0, 64), heads: 128, splitLen: 256 }, rng) },
      ];
    case "gqa_decode_split":
    case "gqa_decode_split_fp8":
      return [
        { label: "3 requests, split 128", build: (m, rng) => decodeSplitCase(m, { kLens: [1, 339, 1024], kvHeads: 2, splitLen: 128 }, rng) },
        { label: "16k, split 1024", build: (m, rng) => decodeSplitCase(m, { kLens: [16384, 77], kvHeads: 2, splitLen: 1024 }, rng) },
        { label: "64k, split 4096", build: (m, rng) => decodeSplitCase(m, { kLens: [65536], kvHeads: 1, splitLen: 4096 }, rng) },
        { label: "batch 256, split 256", build: (m, rng) => decodeSplitCase(m, { kLens: BIG_BATCH, kvHeads: 1, splitLen: 256 }, rng) },
      ];
    case "merge_states":
      return [
        { label: "1 split", build: (m, rng) => mergeCase(m, { splits: 1, rows: 5 }, rng) },
        { label: "7 splits", build: (m, rng) => mergeCase(m, { splits: 7, rows: 40 }, rng) },
        { label: "16 splits x 2048 rows", build: (m, rng) => mergeCase(m, { splits: 16, rows: 2048 }, rng) },
      ];
    case "set_kv_buffer_fp8":
      return [
        { label: "256 tokens", build: (m, rng) => kvWriteCase(m, { tokens: 256, kvHeads: 8, headDim: 128, slots: 1024 }, rng) },
        { label: "E4M3 rounding boundaries", build: (m) => fp8EdgeCase(m) },
      ];
    case "set_kv_buffer":
      return [
        { label: "7 tokens", build: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 2, headDim: 128, slots: 64 }, rng) },
        { label: "256 tokens", build: (m, rng) => kvWriteCase(m, { tokens: 256, kvHeads: 8, headDim: 128, slots: 1024 }, rng) },
      ];
    case "set_latent_buffer":
    case "set_latent_buffer_fp8":
      return [{ label: "7 tokens, 576 wide", build: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 1, headDim: 576, slots: 64 }, rng) }];
    default:
      return [];
  }
}
