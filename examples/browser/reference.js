// A plain-JS float64 reference for paged GQA attention, small enough to read in one go.
//
//   out[t, h, :] = sum_j softmax_j(scale * q[t, h] . k[j]) * v[j]      over the keys j query t sees
//   lse[t, h]    = ln(sum_j exp(scale * q[t, h] . k[j]))                (natural log)
//
// Layouts (row-major, as the kernel takes them):
//   q            [tokens, qHeads, headDim]   request b owns tokens cuSeqlensQ[b] .. cuSeqlensQ[b+1]-1
//   kCache/vCache [slots, kvHeads, headDim]  the paged KV cache
//   pageTable    [batch, maxPages]           key j of request b lives in slot
//                                            pageTable[b * maxPages + floor(j / pageSize)] * pageSize + j % pageSize
//   cacheSeqlens [batch]                     keys of request b (cached prefix plus its new tokens)
// GQA: query head h reads KV head floor(h / (qHeads / kvHeads)).
// Causal mask, aligned bottom-right: query i of a request with qLen queries and kLen keys sits at
// key position i + kLen - qLen and sees keys 0 ..= that position. A query that sees no key gets
// out = 0 and lse = -Infinity.

export function pagedAttention({ q, kCache, vCache, pageTable, maxPages, pageSize, cacheSeqlens, cuSeqlensQ, qHeads, kvHeads, headDim, scale, causal }) {
  const batch = cacheSeqlens.length;
  const tokens = cuSeqlensQ[batch];
  const group = qHeads / kvHeads;
  const out = new Float64Array(tokens * qHeads * headDim);
  const lse = new Float64Array(tokens * qHeads);

  for (let b = 0; b < batch; b++) {
    const qStart = cuSeqlensQ[b];
    const qLen = cuSeqlensQ[b + 1] - qStart;
    const kLen = cacheSeqlens[b];
    const slot = (j) => pageTable[b * maxPages + Math.floor(j / pageSize)] * pageSize + (j % pageSize);

    for (let i = 0; i < qLen; i++) {
      const t = qStart + i;
      const last = causal ? Math.min(kLen - 1, i + kLen - qLen) : kLen - 1; // last visible key
      for (let h = 0; h < qHeads; h++) {
        const kvh = Math.floor(h / group);
        const qRow = (t * qHeads + h) * headDim;
        const outRow = (t * qHeads + h) * headDim;
        if (last < 0) {
          lse[t * qHeads + h] = -Infinity;
          continue;
        }
        // Scores of the visible keys and their maximum.
        const scores = [];
        let max = -Infinity;
        for (let j = 0; j <= last; j++) {
          const kRow = (slot(j) * kvHeads + kvh) * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qRow + d] * kCache[kRow + d];
          scores.push(scale * dot);
          max = Math.max(max, scale * dot);
        }
        // Softmax weights (shifted by the max for stability) times V.
        let sum = 0;
        for (let j = 0; j <= last; j++) {
          const w = Math.exp(scores[j] - max);
          sum += w;
          const vRow = (slot(j) * kvHeads + kvh) * headDim;
          for (let d = 0; d < headDim; d++) out[outRow + d] += w * vCache[vRow + d];
        }
        for (let d = 0; d < headDim; d++) out[outRow + d] /= sum;
        lse[t * qHeads + h] = max + Math.log(sum);
      }
    }
  }
  return { out, lse };
}

/**
 * ||got - ref|| / ||ref|| (L2). Any NaN, or a non-finite value where the reference is finite,
 * gives Infinity; matching infinities (lse of a query that sees no key) count as equal.
 */
export function relError(got, ref) {
  if (got.length !== ref.length) throw new Error(`relError: length ${got.length} != ${ref.length}`);
  let diff2 = 0;
  let ref2 = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(g) || Number.isNaN(r)) return Infinity;
    if (!Number.isFinite(r)) {
      if (g !== r) return Infinity;
      continue;
    }
    if (!Number.isFinite(g)) return Infinity;
    diff2 += (g - r) ** 2;
    ref2 += r ** 2;
  }
  return ref2 === 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / ref2);
}
