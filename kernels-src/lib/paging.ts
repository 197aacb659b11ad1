import { kernel } from "flashtile";

// The paged KV cache: request b's key position p lives in slot page_table[b, p / P] * P + p % P
// (SGLang's allocator guarantees slot = page * P + offset). Positions outside `valid` read page 0.
export const paging = kernel`
fn page_slot(page_table, b, pos, P, valid) {
  return (load page_table[b, pos / P] where valid) * P + pos % P
}
`;
