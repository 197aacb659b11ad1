import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";

// Split-KV decode for long contexts and small batches: split s of request b attends keys
// [s * split_len, (s + 1) * split_len) and writes a partial output with its log-sum-exp; the
// merge_states kernel (merge_states.ts) combines the splits. One query per request; the GROUP
// query heads of a kv head share the tile's rows. With KV = f8e4m3 the cache is E4M3 with
// per (request, kv head) descales, applied as in gqa_paged (gqa.ts): the key descale joins the
// score scale and the value descale multiplies the partial output, so the log-sum-exp and the
// merge are those of the dequantized cache. PV is the dtype P and V meet in for P·V (T unless a
// target sets it).
export const decodeSplit = kernel`${attend}
kernel gqa_decode_split<T: dtype = f32, KV: dtype = T, PV: dtype = T, HEAD_DIM = 128, GROUP = 4, PAGE = 16, BLOCK_M = (GROUP > 8 ? GROUP : 8), BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require BLOCK_M >= GROUP "a tile must hold all query heads of a kv head"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], GROUP in [1, 4], PAGE in [1, 16, 64]
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], BLOCK_M = 16, BLOCK_N = 32
(q: T[batch, q_heads, HEAD_DIM], k_cache: KV[slots, kv_heads, HEAD_DIM], v_cache: KV[slots, kv_heads, HEAD_DIM],
 k_descale: f32[batch, kv_heads] if KV == f8e4m3, v_descale: f32[batch, kv_heads] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch],
 out_partial: f32[splits, batch, q_heads, HEAD_DIM], lse_partial: f32[splits, batch, q_heads],
 softmax_scale: f32, split_len: i32)
grid (s in splits, kvh in kv_heads, b in batch) {
  let k_len = cache_seqlens[b]
  let lo = s * split_len
  let hi = min(k_len, lo + split_len)
  let g = rows(0, BLOCK_M)
  let head = kvh * GROUP + g
  let Q = load q[b, head, :] where g < GROUP
  let scale2 = base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, kvh] : 1.0)
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(lo, hi, BLOCK_N) mask live = cols(n, BLOCK_N) >= lo && cols(n, BLOCK_N) < hi {
    let (K, V) = paged_kv(k_cache, v_cache, page_table, b, kvh, n, BLOCK_N, PAGE, k_len)
    state = softmax_step(state, scores(Q, T(K), live, scale2), PV(V))
  }
  store out_partial[s, b, head, :] = softmax_finish(state) * (KV == f8e4m3 ? v_descale[b, kvh] : 1.0) where g < GROUP
  store lse_partial[s, b, head] = softmax_lse(state) where g < GROUP
}

// The same over an FP8 (E4M3) cache: split-KV decode reading half the bytes of a 16-bit cache.
// On CUDA, P·V runs in f16 whatever T (PV): E4M3 values are exact in f16, P in [0, 1] keeps more
// bits in f16 than in bf16, and V widens by one cvt a pair instead of four.
kernel gqa_decode_split_fp8 = gqa_decode_split<KV = f8e4m3>
  instances T in [f32, f16], GROUP in [1, 4], PAGE in [1, 16]
  target cuda: T in [bf16, f16], GROUP in [1, 4, 8], PAGE in [1, 16, 64], PV = f16, BLOCK_M = 16, BLOCK_N = 32
`;

// The same split for absorbed MLA (mla.ts): the heads of the request's one query token share
// the tile's rows, so each split reads the latent rows of its key range once for all of them.
// merge_states at HEAD_DIM = LATENT combines the splits.
export const mlaDecodeSplit = kernel`${attend}
kernel mla_decode_split<T: dtype = f32, KV: dtype = T, DOT: dtype = T, LATENT = 512, ROPE = 64, PAGE = 16, BLOCK_M = (T == f16 ? 16 : 8), BLOCK_N = (T == f16 ? 8 : 4)>
  require LATENT % 16 == 0 && ROPE % 16 == 0 "LATENT and ROPE must be multiples of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [8, 16, 32], BLOCK_N in [4, 8, 16, 32]
  instances T in [f32, f16], PAGE in [1, 16, 64]
  target cuda: T in [bf16, f16], BLOCK_M = 64, BLOCK_N = 64 // 8 warps: 2 groups of 4 split the 512 latent columns; group 0 computes the scores (leader.ts)
  target cuda sm_80: BLOCK_N = 32
(q_nope: T[batch, heads, LATENT], q_rope: T[batch, heads, ROPE], c_kv: KV[slots, 1, LATENT + ROPE],
 k_descale: f32[batch, 1] if KV == f8e4m3, v_descale: f32[batch, 1] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch],
 out_partial: f32[splits, batch, heads, LATENT], lse_partial: f32[splits, batch, heads],
 softmax_scale: f32, split_len: i32)
grid (s in splits, m in tiles(heads, BLOCK_M), b in batch) {
  let k_len = cache_seqlens[b]
  let lo = s * split_len
  let hi = min(k_len, lo + split_len)
  let head = rows(m, BLOCK_M)
  let Qn = DOT(load q_nope[b, head, :] where head < heads)
  let Qr = DOT(load q_rope[b, head, :] where head < heads)
  let state = softmax_init(BLOCK_M, LATENT)
  for n in tiles(lo, hi, BLOCK_N) mask live = cols(n, BLOCK_N) >= lo && cols(n, BLOCK_N) < hi {
    let (C, Kr) = paged_latent(c_kv, page_table, b, n, BLOCK_N, PAGE, k_len, LATENT, ROPE)
    state = softmax_step(state, latent_scores(Qn, Qr, DOT(C), DOT(Kr), live, base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, 0] : 1.0)), DOT(C))
  }
  store out_partial[s, b, head, :] = softmax_finish(state) * (KV == f8e4m3 ? v_descale[b, 0] : 1.0) where head < heads
  store lse_partial[s, b, head] = softmax_lse(state) where head < heads
}

// The same over an FP8 (E4M3) latent cache (mla_paged_fp8's descales; DOT as in mla.ts).
kernel mla_decode_split_fp8 = mla_decode_split<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16, 64]
  // On Hopper the leader schedule and f16 dots, as mla_paged_fp8's (mla.ts). On Ampere 32-key
  // tiles widened in shared memory by every thread (141.5 KiB; 64-key ones spilled at page 1).
  target cuda: T in [bf16, f16], DOT = f16, BLOCK_M = 64, BLOCK_N = 64
  target cuda sm_80: BLOCK_N = 32, DOT = T
`;
