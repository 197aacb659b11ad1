/**
 * Merging partial attention states (FlashInfer merge_state semantics, natural
 * log LSE). Split-KV kernels compute attention over disjoint key ranges and
 * combine them with exactly this rule, so the reference for a split-KV
 * kernel's combine step lives here.
 */
import type { KeyRange } from "./core.ts";

/**
 * One partial result: out [rows, dim] and lse [rows], rows = lse.length.
 * The output of `attention` ([tokens, heads, dim] and [tokens, heads]) is
 * already in this shape with rows = tokens * heads.
 */
export interface AttentionState {
  out: ArrayLike<number>;
  lse: ArrayLike<number>;
}

export interface MergedState {
  out: Float64Array;
  lse: Float64Array;
}

/** Merge two partial states over the same rows. */
export function mergeState(a: AttentionState, b: AttentionState): MergedState {
  return mergeStates([a, b]);
}

/**
 * N-way merge: lse = log(sum_i exp(lse_i)) computed relative to the max, and
 * out = sum_i out_i * exp(lse_i - lse). Parts with lse = -inf contribute
 * nothing (their out is ignored, even if garbage); if every part is -inf the
 * row is 0 with lse -inf, matching a fully masked row.
 */
export function mergeStates(parts: readonly AttentionState[]): MergedState {
  if (parts.length === 0) throw new Error("mergeStates needs at least one part");
  const rows = parts[0].lse.length;
  const dim = rows === 0 ? 0 : parts[0].out.length / rows;
  if (!Number.isInteger(dim)) throw new Error(`out length ${parts[0].out.length} not a multiple of rows ${rows}`);
  for (const [n, part] of parts.entries()) {
    if (part.lse.length !== rows || part.out.length !== rows * dim) {
      throw new Error(`part ${n} has shape (${part.out.length}, ${part.lse.length}), expected (${rows * dim}, ${rows})`);
    }
  }
  const out = new Float64Array(rows * dim);
  const lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (const part of parts) if (part.lse[r] > m || Number.isNaN(part.lse[r])) m = part.lse[r];
    if (m === -Infinity) {
      lse[r] = -Infinity;
      continue;
    }
    let sum = 0;
    for (const part of parts) {
      if (part.lse[r] === -Infinity) continue;
      const w = Math.exp(part.lse[r] - m);
      sum += w;
      for (let d = 0; d < dim; d++) out[r * dim + d] += w * part.out[r * dim + d];
    }
    for (let d = 0; d < dim; d++) out[r * dim + d] /= sum;
    lse[r] = m + Math.log(sum);
  }
  return { out, lse };
}

/**
 * KeyRange for split `index` of `count` equal-ish splits of every request's
 * keys (split boundaries floor(kLen * s / count)); convenient for checking
 * that partials merge back to the full result.
 */
export function evenSplit(count: number, index: number): KeyRange {
  return (_b, kLen) => [Math.floor((kLen * index) / count), Math.floor((kLen * (index + 1)) / count)];
}
