/**
 * Public float64 reference for (GQA/MQA, varlen, optionally paged) attention.
 * Every attention kernel in the project is checked against `attention`.
 */
import { attendCore, type AttentionResult, type KeyRange, type ScoreOptions } from "./core.ts";
import type { KvLayout } from "./paging.ts";

export { visible, resolveMask, type MaskOptions, type ResolvedMask } from "./masks.ts";
export { pagedSlot, keyLength, type KvLayout, type RaggedKv, type PagedKv } from "./paging.ts";
export type { AttentionResult, KeyRange, ScoreOptions } from "./core.ts";

export interface AttentionOptions extends ScoreOptions {
  /** [totalQ, qHeads, headDim], row-major. */
  q: ArrayLike<number>;
  /** Length batch + 1; request b owns q rows cuSeqlensQ[b] .. cuSeqlensQ[b+1]-1. */
  cuSeqlensQ: ArrayLike<number>;
  /**
   * K and V: [totalK, kvHeads, dim] for a ragged layout, or the cache
   * [slots, kvHeads, dim] for a paged layout.
   */
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  layout: KvLayout;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  /** Value head dim if it differs from the q/k head dim (FA3 supports this). Default headDim. */
  vHeadDim?: number;
  /** Default 1 / sqrt(headDim), as in FlashAttention. */
  scale?: number;
}

/**
 * out[token, h, :] = softmax over visible keys of scores, times V;
 * lse[token, h] = ln(sum exp(score)) (+ the sink term). See masks.ts for the
 * visibility rule and core.ts for the exact arithmetic.
 */
export function attention(opts: AttentionOptions): AttentionResult {
  const vDim = opts.vHeadDim ?? opts.headDim;
  return attendCore({
    ...opts,
    qkDim: opts.headDim,
    vRowWidth: vDim,
    vDim,
    scale: opts.scale ?? 1 / Math.sqrt(opts.headDim),
  });
}
