import { kernel } from "flashtile";
import { attend } from "./lib/attend.ts";
import { masks } from "./lib/masks.ts";

// Multi-head latent attention (DeepSeek), absorbed form, over a paged latent cache: one cache row
// per token holds the compressed latent c (LATENT wide) then the rope key (ROPE wide).
// scores = q_nope . c + q_rope . k_rope, output = P . c. Every query head reads the same latent,
// so the heads of a token share one tile (row r is token r / heads, head r % heads). The scale is
// the caller's (DeepSeek uses the pre-absorption head size, (128 + 64)^-0.5). With KV = f8e4m3
// the cache rows are E4M3 with per-request descales, as the GQA kernels' (gqa.ts): the key
// descale joins the score scale, the value descale multiplies the output (the latent is both).
// DOT is the dtype the query, the latent and P meet in for the two dots (T unless a target sets
// it).
export const mla = kernel`${attend} ${masks}
kernel mla_paged<T: dtype = f32, KV: dtype = T, DOT: dtype = T, LATENT = 512, ROPE = 64, PAGE = 16, BLOCK_M = (T == f16 ? 16 : 8), BLOCK_N = (T == f16 ? 8 : 4)>
  require LATENT % 16 == 0 && ROPE % 16 == 0 "LATENT and ROPE must be multiples of 16"
  require PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0 "a key tile must hold whole pages or lie inside one page"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [8, 16, 32], BLOCK_N in [4, 8, 16, 32]
  instances T in [f32, f16], PAGE in [1, 16, 64]
  target cuda: T in [bf16, f16], BLOCK_M = 64, BLOCK_N = 64 // 8 warps: 2 groups of 4 split the 512 latent columns; group 0 computes the scores (leader.ts)
  target cuda sm_80: BLOCK_N = 32
(q_nope: T[tokens, heads, LATENT], q_rope: T[tokens, heads, ROPE], c_kv: KV[slots, 1, LATENT + ROPE],
 k_descale: f32[batch, 1] if KV == f8e4m3, v_descale: f32[batch, 1] if KV == f8e4m3,
 page_table: i32[batch, max_pages], cache_seqlens: i32[batch], cu_seqlens_q: i32[batch + 1],
 out: T[tokens, heads, LATENT], lse: f32[tokens, heads],
 max_seqlen_q: i32, softmax_scale: f32, is_causal: i32)
grid (m in tiles(max_seqlen_q * heads, BLOCK_M), b in batch) {
  let (q0, q_len, k_len) = request(cu_seqlens_q, cache_seqlens, b)
  if m * BLOCK_M >= q_len * heads { return }
  let qi = rows(m, BLOCK_M)
  let tok = qi / heads
  let head = qi % heads
  let Qn = DOT(load q_nope[q0 + tok, head, :] where tok < q_len)
  let Qr = DOT(load q_rope[q0 + tok, head, :] where tok < q_len)
  let state = softmax_init(BLOCK_M, LATENT)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (is_causal == 0 || causal(tok, cols(n, BLOCK_N), q_len, k_len)) {
    let (C, Kr) = paged_latent(c_kv, page_table, b, n, BLOCK_N, PAGE, k_len, LATENT, ROPE)
    state = softmax_step(state, latent_scores(Qn, Qr, DOT(C), DOT(Kr), live, base2(softmax_scale) * (KV == f8e4m3 ? k_descale[b, 0] : 1.0)), DOT(C))
  }
  store_attention_scaled(out, lse, state, q0 + tok, head, tok < q_len, T, KV == f8e4m3 ? v_descale[b, 0] : 1.0)
}

// The same over an FP8 (E4M3) latent cache: half the bytes a token.
kernel mla_paged_fp8 = mla_paged<KV = f8e4m3>
  instances T in [f32, f16], PAGE in [1, 16, 64]
  // On Hopper the leader schedule, as over a 16-bit cache: each tile is staged as E4M3 and widened
  // by both groups (plan.ts, converted). The dots take f16 whatever T: E4M3 is exact in f16 and
  // widens by one cvt a pair (bf16 takes four), P keeps more bits; a bf16 query is rounded to
  // f16 once, exact for magnitudes 2^-14 to 65504 (larger ones overflow). On Ampere 32-key
  // tiles widened in shared memory by every thread (141.5 KiB; 64-key ones spilled at page 1).
  target cuda: T in [bf16, f16], DOT = f16, BLOCK_M = 64, BLOCK_N = 64
  target cuda sm_80: BLOCK_N = 32, DOT = T
`;
