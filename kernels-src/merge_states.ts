import { kernel } from "flashtile";

// Merge attention states computed over disjoint key sets (split-KV partial outputs), exactly as
// FlashInfer's merge_state, in natural-log LSE: lse = log(sum_s exp(lse_s)) and
// out = sum_s out_s * exp(lse_s - lse). States with lse = -inf (no keys) contribute nothing.
export const mergeStates = kernel`
fn merge_step(state, lse_s, o_s) {
  let (m, l, acc) = state
  let m_new = max(m, lse_s)
  let m_safe = where(m_new == -inf, 0.0, m_new)
  let a = exp(m - m_safe)
  let w = exp(lse_s - m_safe)
  return m_new, l * a + w, acc * a + o_s * w
}

kernel merge_states<T: dtype = f32, HEAD_DIM = 128, BLOCK_M = 16>
  instances T in [f32, f16], HEAD_DIM in [64, 128, 512]
  target cuda: T in [f32, bf16, f16]
(out_partial: f32[splits, n_rows, HEAD_DIM], lse_partial: f32[splits, n_rows],
 out: T[n_rows, HEAD_DIM], lse: f32[n_rows])
grid (m in tiles(n_rows, BLOCK_M)) {
  let r = rows(m, BLOCK_M)
  let state = (full(BLOCK_M, 1, -inf), zeros(BLOCK_M, 1), zeros(BLOCK_M, HEAD_DIM))
  for s in range(0, splits) {
    let lse_s = load lse_partial[s, r] where r < n_rows else -inf
    state = merge_step(state, lse_s, load out_partial[s, r, :] where r < n_rows)
  }
  let (mx, l, acc) = state
  store out[r, :] = T(acc / where(l == 0.0, 1.0, l)) where r < n_rows
  store lse[r] = where(l == 0.0, -inf, mx + log(l)) where r < n_rows
}
`;
