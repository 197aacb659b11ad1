// Cases for absorbed MLA over a paged latent cache, checked against the float64 MLA reference.
import type { DType, KernelManifest } from "../../runtime/manifest.ts";
import { mlaAttention } from "../reference/mla.ts";
import { makePagedCache, makeVarlenBatch, randn, type Rng } from "../reference/numeric.ts";
import { type KernelCase, toleranceFor } from "./case.ts";
import { roundTo } from "./mha.ts";

export interface MlaSpec {
  qLens: number[];
  kLens: number[];
  heads: number;
  causal?: boolean;
}

export function mlaCase(m: KernelManifest, spec: MlaSpec, rng: Rng): KernelCase {
  const dtype = m.params.T as DType;
  const L = m.params.LATENT as number;
  const R = m.params.ROPE as number;
  const P = m.params.PAGE as number;
  const W = L + R;
  const H = spec.heads;
  // The latent cache is a one-head paged cache whose rows are LATENT + ROPE wide.
  const cache = makePagedCache({ kLens: spec.kLens, pageSize: P, kvHeads: 1, headDim: W, rng });
  const ckv = roundTo(dtype, cache.kCache);
  const cuQ = makeVarlenBatch(spec.qLens);
  const Tq = cuQ[cuQ.length - 1];
  const qNope = roundTo(dtype, randn(Tq * H * L, rng));
  const qRope = roundTo(dtype, randn(Tq * H * R, rng));
  const scale = 1 / Math.sqrt(128 + 64);
  const ref = mlaAttention({ qNope, qRope, ckv, cuSeqlensQ: cuQ, layout: cache.paged, heads: H, latentDim: L, ropeDim: R, scale, causal: spec.causal ?? false });
  const B = spec.qLens.length;
  return {
    label: `q=[${spec.qLens}] k=[${spec.kLens}] heads=${H}${spec.causal ? " causal" : ""}`,
    inputs: {
      q_nope: { dtype, shape: [Tq, H, L], data: qNope },
      q_rope: { dtype, shape: [Tq, H, R], data: qRope },
      c_kv: { dtype, shape: [ckv.length / W, 1, W], data: ckv },
      page_table: { dtype: "i32", shape: [B, cache.paged.maxPages], data: cache.paged.pageTable },
      cache_seqlens: { dtype: "i32", shape: [B], data: cache.paged.cacheSeqlens },
      cu_seqlens_q: { dtype: "i32", shape: [B + 1], data: cuQ },
      max_seqlen_q: Math.max(0, ...spec.qLens),
      softmax_scale: scale,
      is_causal: spec.causal ? 1 : 0,
    },
    outputs: { out: { dtype, shape: [Tq, H, L] }, lse: { dtype: "f32", shape: [Tq, H] } },
    expected: { out: ref.out, lse: ref.lse },
    tolerance: { out: toleranceFor(dtype), lse: toleranceFor(dtype) },
  };
}

/** Split-KV MLA decode (one query token per request): each split's partial state vs the reference on its key range. */
export function mlaSplitCase(m: KernelManifest, spec: { kLens: number[]; heads: number; splitLen: number }, rng: Rng): KernelCase {
  const dtype = m.params.T as DType;
  const L = m.params.LATENT as number;
  const R = m.params.ROPE as number;
  const W = L + R;
  const H = spec.heads;
  const B = spec.kLens.length;
  const S = Math.max(1, Math.ceil(Math.max(...spec.kLens) / spec.splitLen));
  const cache = makePagedCache({ kLens: spec.kLens, pageSize: m.params.PAGE as number, kvHeads: 1, headDim: W, rng });
  const ckv = roundTo(dtype, cache.kCache);
  const cuQ = makeVarlenBatch(spec.kLens.map(() => 1));
  const qNope = roundTo(dtype, randn(B * H * L, rng));
  const qRope = roundTo(dtype, randn(B * H * R, rng));
  const scale = 1 / Math.sqrt(128 + 64);
  const outP = new Float64Array(S * B * H * L);
  const lseP = new Float64Array(S * B * H);
  for (let s = 0; s < S; s++) {
    const keyRange = (_b: number, kLen: number): [number, number] => [Math.min(kLen, s * spec.splitLen), Math.min(kLen, (s + 1) * spec.splitLen)];
    const r = mlaAttention({ qNope, qRope, ckv, cuSeqlensQ: cuQ, layout: cache.paged, heads: H, latentDim: L, ropeDim: R, scale, keyRange });
    outP.set(r.out, s * B * H * L);
    lseP.set(r.lse, s * B * H);
  }
  return {
    label: `k=[${spec.kLens.length > 4 ? `${spec.kLens.length} requests` : spec.kLens}] heads=${H} split=${spec.splitLen} (${S} splits)`,
    inputs: {
      q_nope: { dtype, shape: [B, H, L], data: qNope },
      q_rope: { dtype, shape: [B, H, R], data: qRope },
      c_kv: { dtype, shape: [ckv.length / W, 1, W], data: ckv },
      page_table: { dtype: "i32", shape: [B, cache.paged.maxPages], data: cache.paged.pageTable },
      cache_seqlens: { dtype: "i32", shape: [B], data: cache.paged.cacheSeqlens },
      softmax_scale: scale,
      split_len: spec.splitLen,
    },
    outputs: { out_partial: { dtype: "f32", shape: [S, B, H, L] }, lse_partial: { dtype: "f32", shape: [S, B, H] } },
    expected: { out_partial: outP, lse_partial: lseP },
    tolerance: { out_partial: toleranceFor(dtype), lse_partial: toleranceFor(dtype) },
  };
}
