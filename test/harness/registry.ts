// Which case builder checks which kernel (by the kernel's name in its spec), and the default
// case the main job runs for it. Adding a spec to kernels-src means adding its reference here.
import type { KernelManifest } from "../../runtime/manifest.ts";
import type { Rng } from "../reference/numeric.ts";
import type { KernelCase } from "./case.ts";
import { decodeSplitCase, kvWriteCase, mergeCase } from "./decode.ts";
import { mhaPrefillCase } from "./mha.ts";
import { mlaCase, mlaSplitCase } from "./mla.ts";
import { pagedCase } from "./paged.ts";

export type CaseBuilder = (m: KernelManifest, rng: Rng) => KernelCase;

// A batch that mixes a decode, an extend after a cached prefix and a prefill.
const MIXED = { qLens: [1, 3, 64], kLens: [339, 800, 64], kvHeads: 2 };

export const DEFAULT_CASES: Record<string, CaseBuilder> = {
  mha_prefill: (m, rng) => mhaPrefillCase(m.params, { qLens: [1, 7, 65, 257], kLens: [1, 9, 100, 257], heads: 2 }, rng),
  gqa_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true }, rng),
  gqa_paged_fp8: (m, rng) => pagedCase(m, { ...MIXED, causal: true }, rng),
  gqa_decode: (m, rng) => pagedCase(m, { qLens: [1, 1, 4], kLens: [339, 1024, 57], kvHeads: 2, causal: true }, rng),
  gqa_decode_fp8: (m, rng) => pagedCase(m, { qLens: [1, 1, 4], kLens: [339, 1024, 57], kvHeads: 2, causal: true }, rng),
  swa_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true, window: [17, 0] }, rng),
  local_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true, chunk: 64 }, rng),
  softcap_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true, softcap: 30 }, rng),
  sinks_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true, sinks: true }, rng),
  swa_paged_fp8: (m, rng) => pagedCase(m, { ...MIXED, causal: true, window: [17, 0] }, rng),
  local_paged_fp8: (m, rng) => pagedCase(m, { ...MIXED, causal: true, chunk: 64 }, rng),
  softcap_paged_fp8: (m, rng) => pagedCase(m, { ...MIXED, causal: true, softcap: 30 }, rng),
  sinks_paged_fp8: (m, rng) => pagedCase(m, { ...MIXED, causal: true, sinks: true }, rng),
  // examples/custom-variant/alibi.ts, the variant of docs/writing-a-variant.md
  alibi_paged: (m, rng) => pagedCase(m, { ...MIXED, causal: true, alibi: true }, rng),
  mla_paged: (m, rng) => mlaCase(m, { qLens: [1, 3], kLens: [339, 64], heads: 8, causal: true }, rng),
  mla_paged_fp8: (m, rng) => mlaCase(m, { qLens: [1, 3], kLens: [339, 64], heads: 8, causal: true }, rng),
  gqa_decode_split: (m, rng) => decodeSplitCase(m, { kLens: [1, 339, 1024], kvHeads: 2, splitLen: 256 }, rng),
  gqa_decode_split_fp8: (m, rng) => decodeSplitCase(m, { kLens: [1, 339, 1024], kvHeads: 2, splitLen: 256 }, rng),
  mla_decode_split: (m, rng) => mlaSplitCase(m, { kLens: [1, 339, 700], heads: 8, splitLen: 256 }, rng),
  mla_decode_split_fp8: (m, rng) => mlaSplitCase(m, { kLens: [1, 339, 700], heads: 8, splitLen: 256 }, rng),
  merge_states: (m, rng) => mergeCase(m, { splits: 4, rows: 24 }, rng),
  set_kv_buffer: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 2, headDim: 128, slots: 64 }, rng),
  set_kv_buffer_fp8: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 2, headDim: 128, slots: 64 }, rng),
  set_latent_buffer: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 1, headDim: 576, slots: 64 }, rng),
  set_latent_buffer_fp8: (m, rng) => kvWriteCase(m, { tokens: 7, kvHeads: 1, headDim: 576, slots: 64 }, rng),
};
