/**
 * The single float64 attention loop behind every public reference entry point
 * (plain/GQA attention, paged attention, absorbed MLA, split-KV partials).
 *
 * It is written for obviousness, not speed: each (token, head) row is a
 * two-pass softmax over an explicit list of visible keys, all in float64, so
 * the only rounding is float64 rounding and any kernel mismatch is the
 * kernel's.
 */
import { resolveMask, visible, type MaskOptions } from "./masks.ts";
import { keyLength, keyRows, layoutBatch, type KvLayout } from "./paging.ts";

/**
 * Restrict request b's keys to positions [lo, hi) on top of the mask, with the
 * mask still computed from the full kLen. This is what one split of a
 * split-KV kernel computes; merging the splits' (out, lse) gives the full result.
 */
export type KeyRange = (request: number, kLen: number) => readonly [number, number];

/** Score-side options shared by all reference entry points. */
export interface ScoreOptions extends MaskOptions {
  /** Multiplies q.k. Entry points pick the default. */
  scale?: number;
  /** If > 0: s = softcap * tanh(s / softcap), after scale, before masking. */
  softcap?: number;
  /** Per-q-head sink logit: adds exp(sink - max) to the denominator only. */
  sinks?: ArrayLike<number>;
  /**
   * Per-q-head ALiBi slope (FlashAttention's alibi_slopes): adds -slope * |i + kLen - qLen - j|
   * to the score of query i and key j, after scale and softcap.
   */
  alibiSlopes?: ArrayLike<number>;
  keyRange?: KeyRange;
}

export interface AttentionResult {
  /** [tokens, qHeads, vDim] */
  out: Float64Array;
  /** [tokens, qHeads], natural log; -Infinity for rows with no key and no sink. */
  lse: Float64Array;
}

export interface CoreProblem extends ScoreOptions {
  /** [tokens, qHeads, qkDim] */
  q: ArrayLike<number>;
  cuSeqlensQ: ArrayLike<number>;
  qHeads: number;
  qkDim: number;
  /** [rows, kvHeads, qkDim] */
  k: ArrayLike<number>;
  kvHeads: number;
  /** [rows, kvHeads, vRowWidth]; only the first vDim entries of a row are read (MLA reads the latent part of c_kv). */
  v: ArrayLike<number>;
  vRowWidth: number;
  vDim: number;
  layout: KvLayout;
  scale: number;
}

function checkInt(name: string, x: number, min: number): void {
  if (!Number.isInteger(x) || x < min) throw new Error(`${name} must be an integer >= ${min}, got ${x}`);
}

export function attendCore(p: CoreProblem): AttentionResult {
  const { q, cuSeqlensQ, qHeads, qkDim, k, kvHeads, v, vRowWidth, vDim, layout, scale } = p;
  checkInt("qHeads", qHeads, 1);
  checkInt("kvHeads", kvHeads, 1);
  checkInt("qkDim", qkDim, 1);
  checkInt("vDim", vDim, 1);
  if (vRowWidth < vDim) throw new Error(`vRowWidth ${vRowWidth} < vDim ${vDim}`);
  if (qHeads % kvHeads !== 0) throw new Error(`qHeads ${qHeads} not a multiple of kvHeads ${kvHeads}`);
  const group = qHeads / kvHeads;
  const mask = resolveMask(p);
  const softcap = p.softcap ?? 0;
  const sinks = p.sinks;
  if (sinks && sinks.length !== qHeads) throw new Error(`sinks length ${sinks.length} != qHeads ${qHeads}`);

  const batch = cuSeqlensQ.length - 1;
  if (batch < 0) throw new Error("cuSeqlensQ must have length batch + 1");
  if (layoutBatch(layout) !== batch) throw new Error(`K/V layout has ${layoutBatch(layout)} requests, queries ${batch}`);
  const tokens = cuSeqlensQ[batch];
  if (cuSeqlensQ[0] !== 0) throw new Error("cuSeqlensQ[0] must be 0");
  if (q.length !== tokens * qHeads * qkDim) throw new Error(`q length ${q.length} != ${tokens}*${qHeads}*${qkDim}`);
  const kRows = k.length / (kvHeads * qkDim);
  const vRows = v.length / (kvHeads * vRowWidth);
  if (!Number.isInteger(kRows) || kRows !== vRows) throw new Error(`k/v lengths inconsistent (${k.length}, ${v.length})`);

  const out = new Float64Array(tokens * qHeads * vDim);
  const lse = new Float64Array(tokens * qHeads);
  const acc = new Float64Array(vDim);

  for (let b = 0; b < batch; b++) {
    const qStart = cuSeqlensQ[b];
    const qLen = cuSeqlensQ[b + 1] - qStart;
    if (qLen < 0) throw new Error(`cuSeqlensQ not non-decreasing at ${b}`);
    const kLen = keyLength(layout, b);
    const rows = keyRows(layout, b, kRows);
    const [lo, hi] = p.keyRange ? p.keyRange(b, kLen) : [0, kLen];
    const scores = new Float64Array(kLen);

    for (let i = 0; i < qLen; i++) {
      const token = qStart + i;
      // Visible keys of this query; identical for all heads.
      const keys: number[] = [];
      for (let j = Math.max(0, lo); j < Math.min(kLen, hi); j++) if (visible(i, j, qLen, kLen, mask)) keys.push(j);

      for (let h = 0; h < qHeads; h++) {
        const kvh = Math.floor(h / group); // GQA/MQA: consecutive q heads share a kv head
        const qOff = (token * qHeads + h) * qkDim;
        const sink = sinks ? sinks[h] : -Infinity;
        // Pass 1: scores and their max (the sink takes part in the max).
        let m = sink;
        for (const j of keys) {
          const kOff = (rows[j] * kvHeads + kvh) * qkDim;
          let dot = 0;
          for (let d = 0; d < qkDim; d++) dot += q[qOff + d] * k[kOff + d];
          let s = scale * dot;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          if (p.alibiSlopes) s -= p.alibiSlopes[h] * Math.abs(i + kLen - qLen - j);
          scores[j] = s;
          // A NaN score must poison the row, never be skipped as "masked".
          if (s > m || Number.isNaN(s)) m = s;
        }
        const outOff = (token * qHeads + h) * vDim;
        if (m === -Infinity) {
          // No visible key and no sink: defined as out = 0, lse = -inf (out is already 0).
          lse[token * qHeads + h] = -Infinity;
          continue;
        }
        // Pass 2: exp-weights, value accumulation, normalisation.
        let denom = sinks ? Math.exp(sink - m) : 0; // the sink has no value vector
        acc.fill(0);
        for (const j of keys) {
          const w = Math.exp(scores[j] - m);
          denom += w;
          const vOff = (rows[j] * kvHeads + kvh) * vRowWidth;
          for (let d = 0; d < vDim; d++) acc[d] += w * v[vOff + d];
        }
        for (let d = 0; d < vDim; d++) out[outOff + d] = acc[d] / denom;
        lse[token * qHeads + h] = m + Math.log(denom);
      }
    }
  }
  return { out, lse };
}
