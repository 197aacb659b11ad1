import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";
import { masks } from "./lib/masks.ts";

// Paged attention over a ragged batch of queries: prefill, extend (new tokens after a cached
// prefix), decode (one query per request) and target-verify (a few draft tokens per request) are
// all this kernel with different query lengths. The GROUP query heads of a kv head share one
// tile (pack_gqa). GROUP = 1 is MHA; one kv head with GROUP = q_heads is MQA.
// With KV = f8e4m3 the cache holds k / k_scale and v / v_scale in E4M3; k_descale and v_descale
// (one per request and kv head, SGLang's [batch, kv_heads] layout) bring them back. The query
// stays in T: q·(K·kd) = (q·K)·kd, so the key descale joins the score scale, and
// P·(V·vd) = (P·V)·vd, so the value descale multiplies the normalised output. Scores and LSE are
// those of the dequantized cache; E4M3 values are exact in f16 and bf16, so widening them before
// the tensor cores loses nothing. PV is the dtype P and V meet in for P·V (T unless a target sets
// it, as gqa_decode_split's).
export const gqaPaged = kernel`${attend} ${masks}
kernel gqa_paged<T: dtype = f32, KV: dtype = T, PV: dtype = T, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [16, 32, 64], BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], GROUP in [1, 4], PAGE in [1, 16, 64]
  // On Hopper, 128 x 128 tiles: two consumer warpgroups and a producer that copies K and V
  // (warp-specialize.ts), a TMA box a page at page 64, gathering rows by cp.async at pages 1 and
  // 16; on an H200 1.17-1.24x (pages 16, 64) and 1.32-1.42x (page 1) the one-warpgroup 64 x 64
  // blocks in the causal prefill (docs/performance.md).
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], BLOCK_M = 128, BLOCK_N = 128
  target cuda sm_80: BLOCK_M = 64, BLOCK_N = 64
(q: T[tokens, q_heads, HEAD_DIM], k_cache: KV[slots, kv_heads, HEAD_DIM], v_cache: KV[slots, kv_heads, HEAD_DIM],
 k_descale: f32[batch, kv_heads] if KV == f8e4m3, v_descale: f32[batch, kv_heads] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1],
 out: T[tokens, q_heads, HEAD_DIM], lse: f32[tokens, q_heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32)
grid (m in tiles(max_seqlen_q * GROUP, BLOCK_M), kvh in kv_heads, b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * GROUP { return }
  let (Q, tok, head) = packed_q(q, q0, q_len, m, BLOCK_M, GROUP, kvh)
  let scale2 = base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, kvh] : 1.0)
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    state = softmax_step(state, scores(Q, T(K), live, scale2), PV(V))
  }
  store_attention_scaled(out, lse, state, q0 + tok, head, tok < q_len, T, KV == f8e4m3 ? v_descale[b, kvh] : 1.0)
}

// The same over an FP8 (E4M3) cache, in every mode. On CUDA P·V runs in f16 whatever T (as in
// gqa_decode_split_fp8): V widens by one cvt a pair, and P in [0, 1] keeps more bits.
kernel gqa_paged_fp8 = gqa_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16]
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], PAGE in [1, 16, 64], PV = f16, BLOCK_M = 64, BLOCK_N = 64

// The same with 16-row CUDA tiles, for batches of one query (or a few) per request: one warp per
// (request, kv head) instead of a 64-row tile whose rows a 4-head group mostly leaves empty. It
// writes the output itself, so a batch that fills the GPU without splitting its keys needs no
// merge_states pass (gqa_decode_split + merge for the rest).
kernel gqa_decode = gqa_paged
  instances T in [f32, f16], PAGE in [16]
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], PAGE in [1, 16, 64], BLOCK_M = 16, BLOCK_N = 32

// gqa_decode over an FP8 (E4M3) cache: one warp per (request, kv head) reading half the bytes,
// no merge pass. On CUDA P·V runs in f16 whatever T, as in gqa_decode_split_fp8: E4M3 values
// are exact in f16 and widen by one cvt a pair. At page 1 (a gathered row a key) 64-key tiles
// keep twice the rows in flight: 1.31-1.38x at 64 x 4096 and 16 x 16384 on an H200, where pages
// of 16 and 64 ran 0.96-1.02x (docs/performance.md).
kernel gqa_decode_fp8 = gqa_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [16]
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], PAGE in [1, 16, 64], PV = f16, BLOCK_M = 16, BLOCK_N = (PAGE == 1 ? 64 : 32)
`;
