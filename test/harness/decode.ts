// Cases for split-KV decode (partial outputs per split vs the reference restricted to each
// split's keys), merge_states (vs the reference merge), and the KV-pool write kernels.
import type { DType, KernelManifest } from "../../runtime/manifest.ts";
import { attention } from "../reference/attention.ts";
import { mergeStates } from "../reference/merge.ts";
import { makePagedCache, makeVarlenBatch, randInt, randn, type Rng } from "../reference/numeric.ts";
import { type KernelCase, toleranceFor } from "./case.ts";
import { e4m3BitsToF32, roundToE4m3 } from "../../runtime/fp8.ts";
import { kernelCache, randomDescales } from "./fp8.ts";
import { roundTo } from "./mha.ts";

export interface SplitSpec {
  kLens: number[];
  kvHeads: number;
  splitLen: number;
}

export function decodeSplitCase(m: KernelManifest, spec: SplitSpec, rng: Rng): KernelCase {
  const dtype = m.params.T as DType;
  const D = m.params.HEAD_DIM as number;
  const G = m.params.GROUP as number;
  const P = m.params.PAGE as number;
  const H = spec.kvHeads * G;
  const B = spec.kLens.length;
  const S = Math.max(1, Math.ceil(Math.max(...spec.kLens) / spec.splitLen));
  const cache = makePagedCache({ kLens: spec.kLens, pageSize: P, kvHeads: spec.kvHeads, headDim: D, rng });
  // T, or E4M3 with per (request, kv head) descales: the reference reads the dequantized cache.
  const { kvDtype, k: kCache, v: vCache, kStored, vStored, descales } = kernelCache(m, cache, B, spec.kvHeads, rng);
  const q = roundTo(dtype, randn(B * H * D, rng));
  const scale = 1 / Math.sqrt(D);
  const cuQ = makeVarlenBatch(spec.kLens.map(() => 1));
  const outP = new Float64Array(S * B * H * D);
  const lseP = new Float64Array(S * B * H);
  for (let s = 0; s < S; s++) {
    const r = attention({
      q, cuSeqlensQ: cuQ, k: kCache, v: vCache, layout: cache.paged, qHeads: H, kvHeads: spec.kvHeads, headDim: D, scale,
      keyRange: (_b: number, kLen: number) => [Math.min(kLen, s * spec.splitLen), Math.min(kLen, (s + 1) * spec.splitLen)],
    });
    outP.set(r.out, s * B * H * D);
    lseP.set(r.lse, s * B * H);
  }
  const slots = kCache.length / (spec.kvHeads * D);
  const inputs: KernelCase["inputs"] = {
    q: { dtype, shape: [B, H, D], data: q },
    k_cache: { dtype: kvDtype, shape: [slots, spec.kvHeads, D], data: kStored },
    v_cache: { dtype: kvDtype, shape: [slots, spec.kvHeads, D], data: vStored },
    page_table: { dtype: "i32", shape: [B, cache.paged.maxPages], data: cache.paged.pageTable },
    cache_seqlens: { dtype: "i32", shape: [B], data: cache.paged.cacheSeqlens },
    softmax_scale: scale,
    split_len: spec.splitLen,
  };
  if (descales) {
    inputs.k_descale = { dtype: "f32", shape: [B, spec.kvHeads], data: descales.k };
    inputs.v_descale = { dtype: "f32", shape: [B, spec.kvHeads], data: descales.v };
  }
  return {
    label: `k=[${spec.kLens}] kvh=${spec.kvHeads} split=${spec.splitLen} (${S} splits)${descales ? " fp8 kv" : ""}`,
    inputs,
    outputs: { out_partial: { dtype: "f32", shape: [S, B, H, D] }, lse_partial: { dtype: "f32", shape: [S, B, H] } },
    expected: { out_partial: outP, lse_partial: lseP },
    tolerance: { out_partial: toleranceFor(dtype), lse_partial: toleranceFor(dtype) },
  };
}

/** Partial states (some rows empty in some splits, lse = -inf) merged by the kernel vs the reference. */
export function mergeCase(m: KernelManifest, spec: { splits: number; rows: number }, rng: Rng): KernelCase {
  const dtype = m.params.T as DType;
  const D = m.params.HEAD_DIM as number;
  const { splits: S, rows: N } = spec;
  const outP = randn(S * N * D, rng);
  const lseP = new Float32Array(S * N);
  for (let i = 0; i < S * N; i++) lseP[i] = rng() < 0.15 ? -Infinity : (rng() - 0.5) * 20;
  // A row that no split saw at all.
  for (let s = 0; s < S; s++) lseP[s * N + (N - 1)] = -Infinity;
  const parts = Array.from({ length: S }, (_, s) => ({ out: outP.subarray(s * N * D, (s + 1) * N * D), lse: lseP.subarray(s * N, (s + 1) * N) }));
  const ref = mergeStates(parts);
  return {
    label: `${S} splits x ${N} rows`,
    inputs: {
      out_partial: { dtype: "f32", shape: [S, N, D], data: outP },
      lse_partial: { dtype: "f32", shape: [S, N], data: lseP },
    },
    outputs: { out: { dtype, shape: [N, D] }, lse: { dtype: "f32", shape: [N] } },
    expected: { out: ref.out, lse: ref.lse },
    tolerance: { out: toleranceFor(dtype), lse: toleranceFor(dtype) },
  };
}

/** set_kv_buffer / set_latent_buffer: scattered rows must land exactly, the rest of the pool untouched. */
export function kvWriteCase(m: KernelManifest, spec: { tokens: number; kvHeads: number; headDim: number; slots: number }, rng: Rng): KernelCase {
  const dtype = m.params.T as DType;
  const { tokens: T, kvHeads: Hk, headDim: D, slots } = spec;
  const loc = new Int32Array(T);
  const free = Array.from({ length: slots - 1 }, (_, i) => i + 1);
  for (let t = 0; t < T; t++) loc[t] = free.splice(randInt(rng, 0, free.length - 1), 1)[0];
  const latent = m.kernel.startsWith("set_latent_buffer");
  const heads = latent ? 1 : Hk;
  const k = roundTo(dtype, randn(T * heads * D, rng));
  const v = roundTo(dtype, randn(T * heads * D, rng));
  // An fp8 pool has its own contents and expected values (quantized by per-head scales).
  if (m.tensors.find((t) => t.name === "k_cache")?.dtype === "f8e4m3") return fp8WriteCase({ dtype, T, Hk, D, slots, loc, k, v }, rng);
  if (m.tensors.find((t) => t.name === "c_kv")?.dtype === "f8e4m3") return fp8LatentWriteCase({ dtype, T, D, slots, loc, latent: k }, rng);
  const kc = roundTo(dtype, randn(slots * heads * D, rng));
  const vc = roundTo(dtype, randn(slots * heads * D, rng));
  const ek = Float64Array.from(kc);
  const ev = Float64Array.from(vc);
  for (let t = 0; t < T; t++) {
    ek.set(k.subarray(t * heads * D, (t + 1) * heads * D), loc[t] * heads * D);
    ev.set(v.subarray(t * heads * D, (t + 1) * heads * D), loc[t] * heads * D);
  }
  const row = [heads, D];
  const loc_ = { dtype: "i32" as DType, shape: [T], data: loc };
  if (latent) {
    return {
      label: `${T} tokens, width ${D}`,
      inputs: { latent: { dtype, shape: [T, ...row], data: k }, out_cache_loc: loc_ },
      outputs: { c_kv: { dtype, shape: [slots, ...row], data: kc } },
      expected: { c_kv: ek },
      tolerance: { c_kv: 0 },
    };
  }
  return {
    label: `${T} tokens x ${Hk} kv heads x ${D}`,
    inputs: { k: { dtype, shape: [T, ...row], data: k }, v: { dtype, shape: [T, ...row], data: v }, out_cache_loc: loc_ },
    outputs: { k_cache: { dtype, shape: [slots, ...row], data: kc }, v_cache: { dtype, shape: [slots, ...row], data: vc } },
    expected: { k_cache: ek, v_cache: ev },
    tolerance: { k_cache: 0, v_cache: 0 },
  };
}

/**
 * set_kv_buffer_fp8: an E4M3 pool; each new value divided by its kv head's scale (in f32) and
 * rounded to E4M3 with saturation. A 1e-3 tolerance admits a rare one-step flip at a rounding tie
 * where a WGSL division is not correctly rounded (WGSL allows 2.5 ulp); a wrong scale, slot or
 * rounding mode is off by far more.
 */
function fp8WriteCase(w: { dtype: DType; T: number; Hk: number; D: number; slots: number; loc: Int32Array; k: Float32Array; v: Float32Array }, rng: Rng): KernelCase {
  const { T, Hk, D, slots, loc } = w;
  const kq = fp8Write(w.k, loc, Hk, D, slots, rng);
  const vq = fp8Write(w.v, loc, Hk, D, slots, rng);
  const row = [Hk, D];
  const src = (x: Float32Array) => ({ dtype: w.dtype, shape: [T, ...row], data: x });
  return {
    label: `${T} tokens x ${Hk} kv heads x ${D} into fp8`,
    inputs: {
      k: src(w.k), v: src(w.v), out_cache_loc: { dtype: "i32", shape: [T], data: loc },
      k_scale: { dtype: "f32", shape: [Hk], data: kq.scale }, v_scale: { dtype: "f32", shape: [Hk], data: vq.scale },
    },
    outputs: { k_cache: { dtype: "f8e4m3", shape: [slots, ...row], data: kq.pool }, v_cache: { dtype: "f8e4m3", shape: [slots, ...row], data: vq.pool } },
    expected: { k_cache: kq.expected, v_cache: vq.expected },
    tolerance: { k_cache: 1e-3, v_cache: 1e-3 },
  };
}

/**
 * One E4M3 pool of `heads` rows of D a slot, random codes, and what it holds once token t's
 * rows of `src` are written to slot loc[t], each value over its head's fresh scale.
 */
function fp8Write(src: Float32Array, loc: Int32Array, heads: number, D: number, slots: number, rng: Rng) {
  const scale = randomDescales(1, heads, rng);
  const pool = randn(slots * heads * D, rng).map((x) => roundToE4m3(x, true));
  const expected = Float64Array.from(pool);
  for (let t = 0; t < loc.length; t++) {
    for (let i = 0; i < heads * D; i++) expected[loc[t] * heads * D + i] = roundToE4m3(src[t * heads * D + i] / scale[Math.floor(i / D)], true);
  }
  return { scale, pool, expected };
}

/** set_latent_buffer_fp8: the same over a one-row latent pool and its one scale. */
function fp8LatentWriteCase(w: { dtype: DType; T: number; D: number; slots: number; loc: Int32Array; latent: Float32Array }, rng: Rng): KernelCase {
  const { T, D, slots, loc } = w;
  const { scale, pool, expected } = fp8Write(w.latent, loc, 1, D, slots, rng);
  return {
    label: `${T} tokens, width ${D} into fp8`,
    inputs: { latent: { dtype: w.dtype, shape: [T, 1, D], data: w.latent }, out_cache_loc: { dtype: "i32", shape: [T], data: loc }, c_scale: { dtype: "f32", shape: [1], data: scale } },
    outputs: { c_kv: { dtype: "f8e4m3", shape: [slots, 1, D], data: pool } },
    expected: { c_kv: expected },
    tolerance: { c_kv: 1e-3 },
  };
}

/**
 * set_kv_buffer_fp8 on the values where E4M3 rounding is decided (scale 1, f32 in): every finite
 * code, every midpoint between neighbours (ties go to the even code) and points just off them,
 * subnormals, values past 448 (saturate). Inputs are rounded to T first, as the kernel sees them.
 * Checked exactly (tolerance 0).
 */
export function fp8EdgeCase(m: KernelManifest): KernelCase {
  const codes = Array.from({ length: 0x7f }, (_, c) => e4m3BitsToF32(c));
  const mids = codes.slice(0, -1).map((x, i) => (x + codes[i + 1]) / 2);
  const near = mids.flatMap((x, i) => [x - (codes[i + 1] - codes[i]) / 64, x + (codes[i + 1] - codes[i]) / 64]);
  const extra = [449, 463.9, 464, 465, 480, 1e6, 3.4e38, 1e-9, 2 ** -10, 3 * 2 ** -11, 0];
  const pos = [...codes, ...mids, ...near, ...extra].map(Math.fround);
  const dtype = m.params.T as DType;
  const vals = roundTo(dtype, Float32Array.from([...pos, ...pos.map((x) => -x)]));
  const D = vals.length;
  const pool = new Float32Array(2 * D);
  const expected = Float64Array.from(pool);
  vals.forEach((x, i) => (expected[D + i] = roundToE4m3(x, true)));
  const one = { dtype: "f32" as DType, shape: [1], data: [1] };
  return {
    label: `${D} values at E4M3 rounding boundaries`,
    inputs: { k: { dtype, shape: [1, 1, D], data: vals }, v: { dtype, shape: [1, 1, D], data: vals }, out_cache_loc: { dtype: "i32", shape: [1], data: [1] }, k_scale: one, v_scale: one },
    outputs: { k_cache: { dtype: "f8e4m3", shape: [2, 1, D], data: pool }, v_cache: { dtype: "f8e4m3", shape: [2, 1, D], data: pool } },
    expected: { k_cache: expected, v_cache: expected },
    tolerance: { k_cache: 0, v_cache: 0 },
  };
}
