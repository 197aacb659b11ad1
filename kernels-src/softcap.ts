import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";
import { masks } from "./lib/masks.ts";

// Logit soft-capping (Gemma 2, Grok): s = softcap * tanh(s / softcap) on the scaled scores before
// the mask, written here as spec code to show the DSL carries custom logits. softcap <= 0 is off.
export const softcap = kernel`${attend} ${masks}
fn capped_scores(Q, K, live, scale, cap) {
  let s = dot(Q, K^T) * scale
  // One reciprocal a block (the loop hoists it), not a divide a score.
  let c = where(cap > 0.0, cap * tanh(s * (1.0 / max(cap, 1.0e-30))), s)
  return where(live, c * base2(1.0), -inf)
}

kernel softcap_paged<T: dtype = f32, KV: dtype = T, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [16, 32, 64], BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], PAGE in [1, 16, 64]
  // On Hopper, 128 x 128 tiles: two consumer warpgroups and a producer (warp-specialize.ts); on an
  // H200 1.33x (page 1) and 1.11x (page 16) the one-warpgroup 64 x 64 blocks, which sm_80 keeps
  // (docs/performance.md).
  target cuda: T in [bf16, f16], BLOCK_M = 128, BLOCK_N = 128
  target cuda sm_80: BLOCK_M = 64, BLOCK_N = 64
(q: T[tokens, q_heads, HEAD_DIM], k_cache: KV[slots, kv_heads, HEAD_DIM], v_cache: KV[slots, kv_heads, HEAD_DIM],
 k_descale: f32[batch, kv_heads] if KV == f8e4m3, v_descale: f32[batch, kv_heads] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1],
 out: T[tokens, q_heads, HEAD_DIM], lse: f32[tokens, q_heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32, softcap: f32)
grid (m in tiles(max_seqlen_q * GROUP, BLOCK_M), kvh in kv_heads, b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * GROUP { return }
  let (Q, tok, head) = packed_q(q, q0, q_len, m, BLOCK_M, GROUP, kvh)
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    state = softmax_step(state, capped_scores(Q, T(K), live, softmax_scale * (KV == f8e4m3 ? k_descale[b, kvh] : 1.0), softcap), T(V))
  }
  store_attention_scaled(out, lse, state, q0 + tok, head, tok < q_len, T, KV == f8e4m3 ? v_descale[b, kvh] : 1.0)
}

// The same over an FP8 (E4M3) cache with one key and one value descale per (request, kv head): the
// key descale joins the score scale, the value descale scales the output.
kernel softcap_paged_fp8 = softcap_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16]
  target cuda: T in [bf16, f16], PAGE in [1, 16, 64], BLOCK_M = 64, BLOCK_N = 64
`;
