import { kernel } from "flashtile";
import { onlineSoftmax } from "./lib/softmax.ts";

// Multi-head attention prefill over a ragged batch (FlashAttention varlen semantics):
// request b owns queries cu_seqlens_q[b] .. cu_seqlens_q[b+1] and keys cu_seqlens_k[b] .. cu_seqlens_k[b+1].
export const mhaPrefill = kernel`${onlineSoftmax}
// Causal attention aligned bottom-right: query i of q_len sees key j of k_len iff j <= i + k_len - q_len.
fn causal(i, j, q_len, k_len) {
  return j <= i + k_len - q_len
}

kernel mha_prefill<T: dtype = f32, HEAD_DIM = 128, CAUSAL = true, BLOCK_M = 16, BLOCK_N = 32>
  require HEAD_DIM % 16 == 0 "HEAD_DIM must be a multiple of 16"
  require softmax_scale > 0.0 "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)"
  tune BLOCK_M in [16, 32, 64], BLOCK_N in [16, 32, 64]
  instances T in [f32, f16], HEAD_DIM in [64, 128], CAUSAL in [true, false]
  // On CUDA (Hopper), 128-row tiles at head dims 128 and 256 are two consumer warpgroups and a
  // producer (the warp-specialized schedule, warp-specialize.ts), with 128-key tiles at 128 and
  // 64 at 256: on an H200 1.14-1.22x the one-warpgroup blocks at S >= 8k (docs/performance.md).
  // At head dim 64, 64-row tiles, one warpgroup, three blocks an SM; 128-key tiles with a causal
  // mask (H200, docs/performance-history.md: 64 x 128 without a mask were slower).
  target cuda: T in [bf16, f16], HEAD_DIM in [64, 128, 256], BLOCK_M = (HEAD_DIM == 64 ? 64 : 128), BLOCK_N = (HEAD_DIM == 128 || (HEAD_DIM == 64 && CAUSAL) ? 128 : 64)
  // Without wgmma (Ampere), 128-row tiles of 8 warps share each K/V tile between twice the rows:
  // their sm_80 PTX ran 0.91-0.99x FA2 on the H200 where the 64-row tiles' ran 0.73-0.85x.
  target cuda sm_80: BLOCK_M = (HEAD_DIM > 128 ? 64 : 128), BLOCK_N = (HEAD_DIM == 64 && !CAUSAL ? 128 : 64)
(q: T[tokens, heads, HEAD_DIM], k: T[kv_tokens, heads, HEAD_DIM], v: T[kv_tokens, heads, HEAD_DIM],
 cu_seqlens_q: i32[batch + 1], cu_seqlens_k: i32[batch + 1],
 out: T[tokens, heads, HEAD_DIM], lse: f32[tokens, heads],
 max_seqlen_q: i32, softmax_scale: f32)
grid (m in tiles(max_seqlen_q, BLOCK_M), h in heads, b in batch) {
  let q0 = cu_seqlens_q[b]
  let q_len = cu_seqlens_q[b + 1] - q0
  if m * BLOCK_M >= q_len { return }
  let k0 = cu_seqlens_k[b]
  let k_len = cu_seqlens_k[b + 1] - k0
  let qi = rows(m, BLOCK_M)
  let Q = load q[q0 + qi, h, :] where qi < q_len
  // exp2(s * scale * log2(e)) == exp(s * scale): the softmax runs in base 2.
  let scale2 = softmax_scale * 1.4426950408889634
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(k_len, BLOCK_N) mask live = cols(n, BLOCK_N) < k_len && (!CAUSAL || causal(qi, cols(n, BLOCK_N), q_len, k_len)) {
    let kr = rows(n, BLOCK_N)
    let K = load k[k0 + kr, h, :] where kr < k_len
    let V = load v[k0 + kr, h, :] where kr < k_len
    let S = where(live, dot(Q, K^T) * scale2, -inf)
    state = softmax_step(state, S, V)
  }
  store out[q0 + qi, h, :] = T(softmax_finish(state)) where qi < q_len
  store lse[q0 + qi, h] = softmax_lse(state) where qi < q_len
}
`;
