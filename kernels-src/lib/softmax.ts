import { kernel } from "flashtile";

// The online softmax of FlashAttention, written once and shared by every attention spec.
// State: (m, l, acc) = running row max of the base-2 scores, running row sum of exp2(s - m),
// and the unnormalised output accumulator. All f32.
export const onlineSoftmax = kernel`
// A fresh state for R query rows and D output columns.
fn softmax_init(R, D) {
  return full(R, 1, -inf), zeros(R, 1), zeros(R, D)
}

// Fold one tile of base-2 scores s (masked entries are -inf) and its values v into the state.
fn softmax_step(state, s: f32[R, C], v: T[C, D]) {
  let (m, l, acc) = state
  let m_new = max(m, rowmax(s))
  // Rows that have only seen masked scores keep m = -inf: subtract 0 instead to stay finite.
  let m_safe = where(m_new == -inf, 0.0, m_new)
  let p = exp2(s - m_safe)
  let alpha = exp2(m - m_safe)
  return m_new, l * alpha + rowsum(p), acc * alpha + dot(T(p), v)
}

// The normalised output; rows that saw no key at all give 0 (as FlashAttention does).
fn softmax_finish(state) {
  let (m, l, acc) = state
  return acc / where(l == 0.0, 1.0, l)
}

// Natural-log log-sum-exp of the scores seen (-inf for rows that saw none).
fn softmax_lse(state) {
  let (m, l, acc) = state
  return where(l == 0.0, -inf, (m + log2(l)) * 0.6931471805599453)
}
`;
