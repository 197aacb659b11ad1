import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";
import { masks } from "./lib/masks.ts";

// Learned attention sinks (gpt-oss): each query head has one logit that joins the softmax
// denominator but has no value row, so attention can "look nowhere". Spec code, no compiler help.
export const sinks = kernel`${attend} ${masks}
// Fold a base-2 sink logit per row into the state: it raises the max and the sum, not the output.
fn softmax_sink(state, s) {
  let (m, l, acc) = state
  let m_new = max(m, s)
  let alpha = exp2(m - m_new)
  return m_new, l * alpha + exp2(s - m_new), acc * alpha
}

kernel sinks_paged<T: dtype = f32, KV: dtype = T, PV: dtype = T, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [16, 32, 64], BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], PAGE in [1, 16, 64]
  // On Hopper, 128 x 128 tiles: two consumer warpgroups and a producer (warp-specialize.ts),
  // which gathers the rows of pages 1 and 16 by cp.async; on an H200 1.29-1.30x (page 1) and
  // 1.21x (page 16) the one-warpgroup 64 x 64 blocks, which sm_80 keeps (docs/performance.md).
  target cuda: T in [bf16, f16], BLOCK_M = 128, BLOCK_N = 128
  target cuda sm_80: BLOCK_M = 64, BLOCK_N = 64
(q: T[tokens, q_heads, HEAD_DIM], k_cache: KV[slots, kv_heads, HEAD_DIM], v_cache: KV[slots, kv_heads, HEAD_DIM],
 k_descale: f32[batch, kv_heads] if KV == f8e4m3, v_descale: f32[batch, kv_heads] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1], sinks: f32[q_heads],
 out: T[tokens, q_heads, HEAD_DIM], lse: f32[tokens, q_heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32)
grid (m in tiles(max_seqlen_q * GROUP, BLOCK_M), kvh in kv_heads, b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * GROUP { return }
  let (Q, tok, head) = packed_q(q, q0, q_len, m, BLOCK_M, GROUP, kvh)
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    state = softmax_step(state, scores(Q, T(K), live, base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, kvh] : 1.0)), PV(V))
  }
  let sink = load sinks[head]
  store_attention_scaled(out, lse, softmax_sink(state, sink * base2(1.0)), q0 + tok, head, tok < q_len, T, KV == f8e4m3 ? v_descale[b, kvh] : 1.0)
}

// The same over an FP8 (E4M3) cache with one key and one value descale per (request, kv head): the
// key descale joins the score scale, the value descale scales the output. On CUDA P·V runs in f16
// (PV), as gqa_paged_fp8's.
kernel sinks_paged_fp8 = sinks_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16]
  target cuda: T in [bf16, f16], PAGE in [1, 16, 64], PV = f16, BLOCK_M = 64, BLOCK_N = 64
`;
