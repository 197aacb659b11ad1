import { kernel } from "flashtile";

// Writing new keys and values into the KV pool (SGLang's set_kv_buffer): token t's K and V rows
// go to slot out_cache_loc[t] of every layer's k_cache / v_cache. The MLA pool holds one latent
// row per token instead (set_latent_buffer). Head sizes are runtime dims, walked in tiles.
// set_kv_buffer_fp8 and set_latent_buffer_fp8 quantize into an E4M3 pool.
export const kvWrite = kernel`
kernel set_kv_buffer<T: dtype = f32, BLOCK_D = 64>
  instances T in [f32, f16]
  target cuda: T in [bf16, f16]
(k: T[tokens, kv_heads, head_dim], v: T[tokens, kv_heads, head_dim], out_cache_loc: i32[tokens],
 k_cache: T[slots, kv_heads, head_dim], v_cache: T[slots, kv_heads, head_dim])
grid (t in tokens, h in kv_heads) {
  let loc = out_cache_loc[t]
  for c in tiles(head_dim, BLOCK_D) {
    let d = cols(c, BLOCK_D)
    store k_cache[loc, h, d] = (load k[t, h, d] where d < head_dim) where d < head_dim
    store v_cache[loc, h, d] = (load v[t, h, d] where d < head_dim) where d < head_dim
  }
}

// Into an FP8 (E4M3) pool: each value is divided by its kv head's scale and rounded to E4M3
// (nearest even, saturating at ±448), as SGLang's set_kv_buffer does with k_scale and v_scale.
kernel set_kv_buffer_fp8<T: dtype = f32, BLOCK_D = 64>
  instances T in [f32, f16]
  target cuda: T in [bf16, f16]
(k: T[tokens, kv_heads, head_dim], v: T[tokens, kv_heads, head_dim], out_cache_loc: i32[tokens],
 k_scale: f32[kv_heads], v_scale: f32[kv_heads],
 k_cache: f8e4m3[slots, kv_heads, head_dim], v_cache: f8e4m3[slots, kv_heads, head_dim])
grid (t in tokens, h in kv_heads) {
  let loc = out_cache_loc[t]
  for c in tiles(head_dim, BLOCK_D) {
    let d = cols(c, BLOCK_D)
    store k_cache[loc, h, d] = f8e4m3(f32(load k[t, h, d] where d < head_dim) / k_scale[h]) where d < head_dim
    store v_cache[loc, h, d] = f8e4m3(f32(load v[t, h, d] where d < head_dim) / v_scale[h]) where d < head_dim
  }
}

kernel set_latent_buffer<T: dtype = f32, BLOCK_D = 64>
  instances T in [f32, f16]
  target cuda: T in [bf16, f16]
(latent: T[tokens, 1, width], out_cache_loc: i32[tokens], c_kv: T[slots, 1, width])
grid (t in tokens) {
  let loc = out_cache_loc[t]
  for c in tiles(width, BLOCK_D) {
    let d = cols(c, BLOCK_D)
    store c_kv[loc, 0, d] = (load latent[t, 0, d] where d < width) where d < width
  }
}

// Into an FP8 (E4M3) latent pool (mla_paged_fp8's cache): each value over the pool's scale.
kernel set_latent_buffer_fp8<T: dtype = f32, BLOCK_D = 64>
  instances T in [f32, f16]
  target cuda: T in [bf16, f16]
(latent: T[tokens, 1, width], out_cache_loc: i32[tokens], c_scale: f32[1], c_kv: f8e4m3[slots, 1, width])
grid (t in tokens) {
  let loc = out_cache_loc[t]
  for c in tiles(width, BLOCK_D) {
    let d = cols(c, BLOCK_D)
    store c_kv[loc, 0, d] = f8e4m3(f32(load latent[t, 0, d] where d < width) / c_scale[0]) where d < width
  }
}
`;
