// Cases for the paged attention specs (gqa, sliding window, chunked local, softcap, sinks): a
// random paged cache with shuffled pages, ragged queries, and the float64 reference under the
// variant's options. Arguments a kernel does not declare are simply not passed.
import type { DType, KernelManifest } from "../../runtime/manifest.ts";
import { attention } from "../reference/attention.ts";
import { makePagedCache, makeVarlenBatch, randn, type Rng } from "../reference/numeric.ts";
import { type HostTensor, type KernelCase, toleranceFor } from "./case.ts";
import { kernelCache } from "./fp8.ts";
import { roundTo } from "./mha.ts";

export interface PagedSpec {
  qLens: number[];
  /** Keys per request (cached prefix plus the new tokens): cache_seqlens. */
  kLens: number[];
  kvHeads: number;
  causal?: boolean;
  /** (left, right); -1 is unbounded. */
  window?: [number, number];
  chunk?: number;
  softcap?: number;
  /** Give each query head a random sink logit. */
  sinks?: boolean;
  /** Give each query head an ALiBi slope (the geometric sequence of the ALiBi paper). */
  alibi?: boolean;
}

export function pagedCase(m: KernelManifest, spec: PagedSpec, rng: Rng): KernelCase {
  const p = m.params;
  const dtype = p.T as DType;
  const D = p.HEAD_DIM as number;
  const G = p.GROUP as number;
  const P = p.PAGE as number;
  const H = spec.kvHeads * G;
  const cache = makePagedCache({ kLens: spec.kLens, pageSize: P, kvHeads: spec.kvHeads, headDim: D, rng });
  const B = spec.qLens.length;
  // The cache's dtype: T, or E4M3 with per (request, kv head) descales.
  const { kvDtype, k: kCache, v: vCache, kStored, vStored, descales } = kernelCache(m, cache, B, spec.kvHeads, rng);
  const cuQ = makeVarlenBatch(spec.qLens);
  const Tq = cuQ[cuQ.length - 1];
  const q = roundTo(dtype, randn(Tq * H * D, rng));
  const scale = 1 / Math.sqrt(D);
  const sinks = spec.sinks ? randn(H, rng) : undefined;
  const slopes = spec.alibi ? Float32Array.from({ length: H }, (_, h) => 2 ** (-8 * (h + 1) / H)) : undefined;
  const ref = attention({
    q, cuSeqlensQ: cuQ, k: kCache, v: vCache, layout: cache.paged, qHeads: H, kvHeads: spec.kvHeads, headDim: D, scale,
    causal: spec.causal ?? false, window: spec.window, attentionChunk: spec.chunk, softcap: spec.softcap, sinks, alibiSlopes: slopes,
  });
  const slots = kCache.length / (spec.kvHeads * D);
  const all: Record<string, HostTensor | number> = {
    q: { dtype, shape: [Tq, H, D], data: q },
    k_cache: { dtype: kvDtype, shape: [slots, spec.kvHeads, D], data: kStored },
    v_cache: { dtype: kvDtype, shape: [slots, spec.kvHeads, D], data: vStored },
    page_table: { dtype: "i32", shape: [B, cache.paged.maxPages], data: cache.paged.pageTable },
    cache_seqlens: { dtype: "i32", shape: [B], data: cache.paged.cacheSeqlens },
    cu_seqlens_q: { dtype: "i32", shape: [B + 1], data: cuQ },
    max_seqlen_q: Math.max(0, ...spec.qLens),
    softmax_scale: scale,
    is_causal: spec.causal ? 1 : 0,
    window_left: spec.window?.[0] ?? -1,
    window_right: spec.window?.[1] ?? -1,
    attention_chunk: spec.chunk ?? 0,
    softcap: spec.softcap ?? 0,
  };
  if (descales) {
    all.k_descale = { dtype: "f32", shape: [B, spec.kvHeads], data: descales.k };
    all.v_descale = { dtype: "f32", shape: [B, spec.kvHeads], data: descales.v };
  }
  if (sinks) all.sinks = { dtype: "f32", shape: [H], data: sinks };
  if (slopes) all.alibi_slopes = { dtype: "f32", shape: [H], data: slopes };
  const declared = new Set([...m.tensors.map((t) => t.name), ...m.scalars.map((s) => s.name)]);
  const inputs = Object.fromEntries(Object.entries(all).filter(([n]) => declared.has(n)));
  const opts = [descales && "fp8 kv", spec.causal && "causal", spec.window && `window=${spec.window}`, spec.chunk && `chunk=${spec.chunk}`, spec.softcap && `softcap=${spec.softcap}`, sinks && "sinks", slopes && "alibi"].filter(Boolean);
  return {
    label: `q=[${spec.qLens}] k=[${spec.kLens}] kvh=${spec.kvHeads}${opts.length ? ` ${opts.join(" ")}` : ""}`,
    inputs,
    outputs: { out: { dtype, shape: [Tq, H, D] }, lse: { dtype: "f32", shape: [Tq, H] } },
    expected: { out: ref.out, lse: ref.lse },
    tolerance: { out: toleranceFor(dtype), lse: toleranceFor(dtype) },
  };
}
