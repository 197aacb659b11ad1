import { kernel } from "flashtile";
import { attend } from "../../kernels-src/lib/attend.ts";
import { masks } from "../../kernels-src/lib/masks.ts";

// A user's variant, added without touching the compiler: ALiBi (Press et al.), a per-head linear
// penalty on the distance between a query's diagonal and a key, -slope * |d - j|. The walkthrough
// in docs/writing-a-variant.md builds this file step by step.
export const alibi = kernel`${attend} ${masks}
// Base-2 scores with the ALiBi bias: slope is one value per row (per query head), d the row's
// diagonal position, j the key positions of the tile.
fn alibi_scores(Q, K, live, scale, slope, d, j) {
  let bias = slope * f32(abs(d - j))
  return where(live, (dot(Q, K^T) * scale - bias) * base2(1.0), -inf)
}

kernel alibi_paged<T: dtype = f32, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  instances T in [f32, f16], PAGE in [1, 16]
(q: T[tokens, q_heads, HEAD_DIM], k_cache: T[slots, kv_heads, HEAD_DIM], v_cache: T[slots, kv_heads, HEAD_DIM],
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1], alibi_slopes: f32[q_heads],
 out: T[tokens, q_heads, HEAD_DIM], lse: f32[tokens, q_heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32)
grid (m in tiles(max_seqlen_q * GROUP, BLOCK_M), kvh in kv_heads, b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * GROUP { return }
  let (Q, tok, head) = packed_q(q, q0, q_len, m, BLOCK_M, GROUP, kvh)
  let slope = load alibi_slopes[head]
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    let S = alibi_scores(Q, K, live, softmax_scale, slope, tok + k_len - q_len, cols(n, BLOCK_N))
    state = softmax_step(state, S, V)
  }
  store_attention(out, lse, state, q0 + tok, head, tok < q_len, T)
}
`;
