/**
 * Reference for DeepSeek-style MLA in the absorbed (decode) form.
 *
 * Absorbed MLA is ordinary MQA in disguise: the key is the whole latent row
 * c_kv = [c (L) | k_rope (R)], the query is [q_nope (L) | q_rope (R)], and the
 * value is the first L entries of the same row. So instead of a second copy of
 * the attention loop we concatenate the query halves and call the shared core
 * with one kv head and a value that reads a prefix of the key row.
 */
import { attendCore, type AttentionResult, type ScoreOptions } from "./core.ts";
import type { KvLayout } from "./paging.ts";

export interface MlaOptions extends ScoreOptions {
  /** [tokens, heads, latentDim] (already multiplied by W_UK). */
  qNope: ArrayLike<number>;
  /** [tokens, heads, ropeDim] */
  qRope: ArrayLike<number>;
  /** Latent cache [slots (or totalK), 1, latentDim + ropeDim]. */
  ckv: ArrayLike<number>;
  /** The values' reading of the same cache, where it differs from the keys' (an FP8 cache's v descale); default ckv. */
  vCkv?: ArrayLike<number>;
  cuSeqlensQ: ArrayLike<number>;
  layout: KvLayout;
  heads: number;
  /** L, default 512 (DeepSeek-V2/V3 kv_lora_rank). */
  latentDim?: number;
  /** R, default 64 (qk_rope_head_dim). */
  ropeDim?: number;
  /**
   * Required: the model's scale is 1/sqrt(qk_nope_dim + rope_dim) of the
   * *un-absorbed* head (e.g. 1/sqrt(192)), which the absorbed shapes can't tell us.
   */
  scale: number;
}

/** out [tokens, heads, latentDim], lse [tokens, heads]. */
export function mlaAttention(opts: MlaOptions): AttentionResult {
  const L = opts.latentDim ?? 512;
  const R = opts.ropeDim ?? 64;
  const { qNope, qRope, heads } = opts;
  const tokens = qNope.length / (heads * L);
  if (!Number.isInteger(tokens) || qRope.length !== tokens * heads * R) {
    throw new Error(`qNope/qRope lengths (${qNope.length}, ${qRope.length}) don't match heads=${heads}, L=${L}, R=${R}`);
  }
  const W = L + R;
  const q = new Float64Array(tokens * heads * W);
  for (let r = 0; r < tokens * heads; r++) {
    for (let d = 0; d < L; d++) q[r * W + d] = qNope[r * L + d];
    for (let d = 0; d < R; d++) q[r * W + L + d] = qRope[r * R + d];
  }
  return attendCore({
    ...opts,
    q,
    qHeads: heads,
    qkDim: W,
    k: opts.ckv,
    kvHeads: 1,
    v: opts.vCkv ?? opts.ckv,
    vRowWidth: W,
    vDim: L,
  });
}
