import { kernel } from "flashtile";

// Which keys a query sees, as plain predicates of positions. Query row i of a request with q_len
// queries and k_len keys sits on the diagonal d = i + k_len - q_len (aligned bottom-right, as in
// FlashAttention and SGLang). The compiler classifies each key tile against these predicates.
export const masks = kernel`
// Causal: key j is visible up to the query's own position.
fn causal(i, j, q_len, k_len) {
  return j <= i + k_len - q_len
}

// Sliding window (left, right) around the diagonal; a negative size leaves that side unbounded.
fn in_window(i, j, q_len, k_len, left, right) {
  let d = i + k_len - q_len
  return (left < 0 || j >= d - left) && (right < 0 || j <= d + right)
}

// Chunked local attention (Llama 4 attention_chunk): query and key in the same chunk of positions.
fn same_chunk(i, j, q_len, k_len, chunk) {
  let start = (i + k_len - q_len) / chunk * chunk
  return j >= start && j < start + chunk
}
`;
