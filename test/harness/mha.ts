// Cases for MHA prefill over a ragged batch: random q/k/v (rounded to the kernel's dtype so the
// reference sees exactly what the kernel reads), checked against the float64 reference.
import type { DType } from "../../runtime/manifest.ts";
import { attention } from "../reference/attention.ts";
import { makeVarlenBatch, randn, roundToBf16, roundToF16, type Rng } from "../reference/numeric.ts";
import { type KernelCase, toleranceFor } from "./case.ts";

export interface PrefillSpec {
  qLens: number[];
  /** Defaults to qLens (plain prefill); longer keys give a prefix. */
  kLens?: number[];
  heads: number;
  /**
   * Rows of K and V past the last sequence's keys, all NaN: the spec loads `where kr < k_len`, so
   * no kernel may let them reach a result (0 x NaN is NaN; a copy of a whole tile reads them).
   */
  padKeys?: number;
}

/** Inputs exactly representable in the kernel's dtype, so the reference sees what the kernel reads. */
export function roundTo(dtype: DType, x: Float32Array): Float32Array {
  return dtype === "f16" ? roundToF16(x) : dtype === "bf16" ? roundToBf16(x) : x;
}

export function mhaPrefillCase(params: Record<string, unknown>, spec: PrefillSpec, rng: Rng): KernelCase {
  const dtype = params.T as DType;
  const D = params.HEAD_DIM as number;
  const causal = params.CAUSAL as boolean;
  const kLens = spec.kLens ?? spec.qLens;
  const H = spec.heads;
  const cuQ = makeVarlenBatch(spec.qLens);
  const cuK = makeVarlenBatch(kLens);
  const Tq = cuQ[cuQ.length - 1];
  const Tk = cuK[cuK.length - 1];
  const pad = spec.padKeys ?? 0;
  const q = roundTo(dtype, randn(Tq * H * D, rng));
  const k = padded(roundTo(dtype, randn(Tk * H * D, rng)), pad * H * D);
  const v = padded(roundTo(dtype, randn(Tk * H * D, rng)), pad * H * D);
  const scale = 1 / Math.sqrt(D);
  const [kRef, vRef] = [k, v].map((x) => x.subarray(0, Tk * H * D));
  const ref = attention({ q, cuSeqlensQ: cuQ, k: kRef, v: vRef, layout: { kind: "ragged", cuSeqlensK: cuK }, qHeads: H, kvHeads: H, headDim: D, scale, causal });
  const B = spec.qLens.length;
  return {
    label: `q=[${spec.qLens}] k=[${kLens}] h=${H}${pad ? ` (${pad} NaN rows past the keys)` : ""}`,
    inputs: {
      q: { dtype, shape: [Tq, H, D], data: q },
      k: { dtype, shape: [Tk + pad, H, D], data: k },
      v: { dtype, shape: [Tk + pad, H, D], data: v },
      cu_seqlens_q: { dtype: "i32", shape: [B + 1], data: cuQ },
      cu_seqlens_k: { dtype: "i32", shape: [B + 1], data: cuK },
      max_seqlen_q: Math.max(0, ...spec.qLens),
      softmax_scale: scale,
    },
    outputs: { out: { dtype, shape: [Tq, H, D] }, lse: { dtype: "f32", shape: [Tq, H] } },
    expected: { out: ref.out, lse: ref.lse },
    tolerance: { out: toleranceFor(dtype), lse: toleranceFor(dtype) },
  };
}

/** x followed by n NaNs. */
function padded(x: Float32Array, n: number): Float32Array {
  if (n === 0) return x;
  const out = new Float32Array(x.length + n).fill(Number.NaN);
  out.set(x);
  return out;
}
