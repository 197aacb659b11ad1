import { kernel } from "flashtile";
import { paging } from "./paging.ts";
import { onlineSoftmax } from "./softmax.ts";

// Pieces every attention spec shares: packed query tiles, paged key/value tiles, base-2 scores.
export const attend = kernel`${paging} ${onlineSoftmax}
// exp2(s * scale * log2(e)) == exp(s * scale): the softmax runs in base 2.
fn base2(scale) {
  return scale * 1.4426950408889634
}

// The key and value tiles of key tile n (BN positions) of request b, kv head kvh, from the paged
// cache; positions at or past k_len read as zeros.
fn paged_kv(k_cache, v_cache, page_table, b, kvh, n, BN, P, k_len) {
  let kr = rows(n, BN)
  let slot = page_slot(page_table, b, kr, P, kr < k_len)
  return load k_cache[slot, kvh, :] where kr < k_len, load v_cache[slot, kvh, :] where kr < k_len
}

// Request b of a ragged batch: its first query row, its number of queries and of cached keys.
fn request(cu_seqlens_q, cache_seqlens, b) {
  let q0 = cu_seqlens_q[b]
  return q0, cu_seqlens_q[b + 1] - q0, cache_seqlens[b]
}

// Query tile m of request b with the G query heads of kv head kvh packed into its rows
// (FlashAttention's pack_gqa): row r is token r / G and query head kvh * G + r % G.
fn packed_q(q, q0, q_len, m, BM, G, kvh) {
  let qi = rows(m, BM)
  let tok = qi / G
  let head = kvh * G + qi % G
  return load q[q0 + tok, head, :] where tok < q_len, tok, head
}

// Write the normalised output (as dtype T) and the log-sum-exp of the rows that exist.
fn store_attention(out, lse, state, row, head, valid, T) {
  store out[row, head, :] = T(softmax_finish(state)) where valid
  store lse[row, head] = softmax_lse(state) where valid
}

// The same for an FP8 cache: the output times the value descale v_scale (P·(V·vd) = (P·V)·vd).
fn store_attention_scaled(out, lse, state, row, head, valid, T, v_scale) {
  store out[row, head, :] = T(softmax_finish(state) * v_scale) where valid
  store lse[row, head] = softmax_lse(state) where valid
}

// Scores of a query tile against a key tile, base 2, masked entries -inf.
fn scores(Q, K, live, scale2) {
  return where(live, dot(Q, K^T) * scale2, -inf)
}

// Key tile n of request b from a paged MLA latent cache (one row per token: the latent c, LATENT
// wide, then the rope key, ROPE wide): the latent tile C (keys and values) and the rope tile.
fn paged_latent(c_kv, page_table, b, n, BN, P, k_len, LATENT, ROPE) {
  let kr = rows(n, BN)
  let slot = page_slot(page_table, b, kr, P, kr < k_len)
  return load c_kv[slot, 0, 0:LATENT] where kr < k_len, load c_kv[slot, 0, LATENT:LATENT + ROPE] where kr < k_len
}

// Absorbed MLA scores, base 2: q_nope . c + q_rope . k_rope, masked entries -inf.
fn latent_scores(Qn, Qr, C, Kr, live, scale2) {
  return where(live, (dot(Qn, C^T) + dot(Qr, Kr^T)) * scale2, -inf)
}
`;
