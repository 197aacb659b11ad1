import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";
import { masks } from "./lib/masks.ts";

// Sliding-window attention over the paged cache: query i sees keys within (window_left,
// window_right) of its diagonal (-1 leaves a side unbounded), optionally also causal. Key tiles
// outside the window are never visited: the compiler bounds the loop from the mask.
export const slidingWindow = kernel`${attend} ${masks}
kernel swa_paged<T: dtype = f32, KV: dtype = T, PV: dtype = T, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [16, 32, 64], BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], PAGE in [1, 16, 64]
  // On Hopper, 128 x 128 tiles: two consumer warpgroups and a producer (warp-specialize.ts),
  // which gathers the rows of pages 1 and 16 by cp.async. At window 1024 of 8k on an H200 as fast
  // as the one-warpgroup 64 x 64 blocks it replaced at page 16, 1.20x at page 1
  // (docs/performance.md; those blocks had beaten 128 x 32, 128 x 64, 64 x 32 and 64 x 128).
  target cuda: T in [bf16, f16], BLOCK_M = 128, BLOCK_N = 128
  // Without wgmma (Ampere), 128 x 32 tiles: 0.318-0.320 ms against 0.387 ms for 64 x 64 as mma.sync
  // (H200, sm_80 PTX, docs/performance-history.md).
  target cuda sm_80: BLOCK_M = 128, BLOCK_N = 32
(q: T[tokens, q_heads, HEAD_DIM], k_cache: KV[slots, kv_heads, HEAD_DIM], v_cache: KV[slots, kv_heads, HEAD_DIM],
 k_descale: f32[batch, kv_heads] if KV == f8e4m3, v_descale: f32[batch, kv_heads] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1],
 out: T[tokens, q_heads, HEAD_DIM], lse: f32[tokens, q_heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32, window_left: i32, window_right: i32)
grid (m in tiles(max_seqlen_q * GROUP, BLOCK_M), kvh in kv_heads, b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * GROUP { return }
  let (Q, tok, head) = packed_q(q, q0, q_len, m, BLOCK_M, GROUP, kvh)
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len
      && in_window(tok, cols(n, BLOCK_N), q_len, k_len, window_left, window_right)
      && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    state = softmax_step(state, scores(Q, T(K), live, base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, kvh] : 1.0)), PV(V))
  }
  store_attention_scaled(out, lse, state, q0 + tok, head, tok < q_len, T, KV == f8e4m3 ? v_descale[b, kvh] : 1.0)
}

// The same over an FP8 (E4M3) cache with per (request, kv head) descales, as gqa_paged_fp8: the
// key descale joins the score scale, the value descale scales the output. On CUDA P·V runs in f16
// (PV), as gqa_paged_fp8's.
kernel swa_paged_fp8 = swa_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16]
  target cuda: T in [bf16, f16], PAGE in [1, 16, 64], PV = f16, BLOCK_M = 64, BLOCK_N = 64
`;
