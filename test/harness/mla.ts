// Cases for absorbed MLA over a paged latent cache, checked against the float64 MLA reference.
import type { DType, KernelManifest } from "../../runtime/manifest.ts";
import { mlaAttention, type MlaOptions } from "../reference/mla.ts";
import { makePagedCache, makeVarlenBatch, randn, type Rng } from "../reference/numeric.ts";
import { type KernelCase, toleranceFor } from "./case.ts";
import { dequantizePaged, quantizePaged, randomDescales } from "./fp8.ts";
import { roundTo } from "./mha.ts";

export interface MlaSpec {
  qLens: number[];
  kLens: number[];
  heads: number;
  causal?: boolean;
}

/**
 * A random query batch (qLens tokens a request, `heads` heads) and paged latent cache (kLens
 * tokens) for an MLA instance, with the kernel inputs both MLA kernels share and a reference
 * runner over them. The latent cache is a one-head paged cache whose rows are LATENT + ROPE wide;
 * when the kernel's c_kv is E4M3 it holds each request's rows over a fresh k descale, and the
 * reference reads them times the k descale as keys and times the v descale as values.
 */
function latentBatch(m: KernelManifest, qLens: number[], kLens: number[], heads: number, rng: Rng) {
  const dtype = m.params.T as DType;
  const L = m.params.LATENT as number;
  const R = m.params.ROPE as number;
  const W = L + R;
  const P = m.params.PAGE as number;
  const cache = makePagedCache({ kLens, pageSize: P, kvHeads: 1, headDim: W, rng });
  const B = qLens.length;
  const fp8 = m.tensors.find((t) => t.name === "c_kv")?.dtype === "f8e4m3";
  const descales = fp8 ? { k: randomDescales(B, 1, rng), v: randomDescales(B, 1, rng) } : undefined;
  const q8 = descales && quantizePaged(cache.kCache, cache.paged, P, 1, W, descales.k);
  // What the kernel gets, and what the reference reads as keys and as values.
  const stored = q8 ? q8.stored : roundTo(dtype, cache.kCache);
  const ckv = q8 ? q8.dequant : stored;
  const vCkv = descales ? dequantizePaged(stored, cache.paged, P, 1, W, descales.v) : undefined;
  const cuQ = makeVarlenBatch(qLens);
  const Tq = cuQ[cuQ.length - 1];
  const qNope = roundTo(dtype, randn(Tq * heads * L, rng));
  const qRope = roundTo(dtype, randn(Tq * heads * R, rng));
  // DeepSeek's scale is that of the un-absorbed head: (128 + 64)^-0.5.
  const scale = 1 / Math.sqrt(128 + 64);
  return {
    dtype, L, Tq, scale,
    inputs: {
      q_nope: { dtype, shape: [Tq, heads, L], data: qNope },
      q_rope: { dtype, shape: [Tq, heads, R], data: qRope },
      c_kv: { dtype: fp8 ? ("f8e4m3" as DType) : dtype, shape: [ckv.length / W, 1, W], data: stored },
      page_table: { dtype: "i32" as DType, shape: [B, cache.paged.maxPages], data: cache.paged.pageTable },
      cache_seqlens: { dtype: "i32" as DType, shape: [B], data: cache.paged.cacheSeqlens },
      softmax_scale: scale,
      ...(descales && {
        k_descale: { dtype: "f32" as DType, shape: [B, 1], data: descales.k },
        v_descale: { dtype: "f32" as DType, shape: [B, 1], data: descales.v },
      }),
    },
    reference: (opts: Pick<MlaOptions, "causal" | "keyRange">) =>
      mlaAttention({ qNope, qRope, ckv, vCkv, cuSeqlensQ: cuQ, layout: cache.paged, heads, latentDim: L, ropeDim: R, scale, ...opts }),
    cuQ,
    fp8,
  };
}

export function mlaCase(m: KernelManifest, spec: MlaSpec, rng: Rng): KernelCase {
  const H = spec.heads;
  const { dtype, L, Tq, inputs, reference, cuQ, fp8 } = latentBatch(m, spec.qLens, spec.kLens, H, rng);
  const ref = reference({ causal: spec.causal ?? false });
  return {
    label: `q=[${spec.qLens}] k=[${spec.kLens}] heads=${H}${spec.causal ? " causal" : ""}${fp8 ? " fp8 kv" : ""}`,
    inputs: {
      ...inputs,
      cu_seqlens_q: { dtype: "i32", shape: [spec.qLens.length + 1], data: cuQ },
      max_seqlen_q: Math.max(0, ...spec.qLens),
      is_causal: spec.causal ? 1 : 0,
    },
    outputs: { out: { dtype, shape: [Tq, H, L] }, lse: { dtype: "f32", shape: [Tq, H] } },
    expected: { out: ref.out, lse: ref.lse },
    tolerance: { out: toleranceFor(dtype), lse: toleranceFor(dtype) },
  };
}

/** Split-KV MLA decode (one query token per request): each split's partial state vs the reference on its key range. */
export function mlaSplitCase(m: KernelManifest, spec: { kLens: number[]; heads: number; splitLen: number }, rng: Rng): KernelCase {
  const H = spec.heads;
  const B = spec.kLens.length;
  const S = Math.max(1, Math.ceil(Math.max(...spec.kLens) / spec.splitLen));
  const { dtype, L, inputs, reference, fp8 } = latentBatch(m, spec.kLens.map(() => 1), spec.kLens, H, rng);
  const outP = new Float64Array(S * B * H * L);
  const lseP = new Float64Array(S * B * H);
  for (let s = 0; s < S; s++) {
    const r = reference({ keyRange: (_b, kLen) => [Math.min(kLen, s * spec.splitLen), Math.min(kLen, (s + 1) * spec.splitLen)] });
    outP.set(r.out, s * B * H * L);
    lseP.set(r.lse, s * B * H);
  }
  return {
    label: `k=[${B > 4 ? `${B} requests` : spec.kLens}] heads=${H} split=${spec.splitLen} (${S} splits)${fp8 ? " fp8 kv" : ""}`,
    inputs: { ...inputs, split_len: spec.splitLen },
    outputs: { out_partial: { dtype: "f32", shape: [S, B, H, L] }, lse_partial: { dtype: "f32", shape: [S, B, H] } },
    expected: { out_partial: outP, lse_partial: lseP },
    tolerance: { out_partial: toleranceFor(dtype), lse_partial: toleranceFor(dtype) },
  };
}
