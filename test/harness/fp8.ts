// An FP8 (E4M3) paged KV cache as SGLang keeps one: the pages of request b hold x / scale[b, h]
// rounded to E4M3 (kv head h), and kernels get scale as their descale. References read the
// dequantized cache (E4M3 value x descale), so a kernel is right only if it applies the descales.
import { decodeE4m3, encodeE4m3 } from "../../runtime/fp8.ts";
import type { DType, KernelManifest } from "../../runtime/manifest.ts";
import type { Rng } from "../reference/numeric.ts";
import { roundTo } from "./mha.ts";

export interface PagedLayout {
  pageTable: Int32Array;
  maxPages: number;
  cacheSeqlens: Int32Array | number[];
}

/** Per (request, kv head) scales, not powers of two, spread over [0.05, 0.5). */
export function randomDescales(batch: number, kvHeads: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: batch * kvHeads }, () => Math.fround(0.05 + 0.45 * rng()));
}

/** The value each slot's scale is taken from: its owning request's, or 1 for slots no request owns. */
function slotScales(layout: PagedLayout, page: number, kvHeads: number, descale: Float32Array, slots: number): Float32Array {
  const owner = new Int32Array(slots).fill(-1);
  layout.cacheSeqlens.forEach((len, b) => {
    for (let j = 0; j < len; j++) owner[layout.pageTable[b * layout.maxPages + Math.floor(j / page)] * page + (j % page)] = b;
  });
  const scaleAt = new Float32Array(slots * kvHeads);
  for (let s = 0; s < slots; s++) for (let h = 0; h < kvHeads; h++) scaleAt[s * kvHeads + h] = owner[s] < 0 ? 1 : descale[owner[s] * kvHeads + h];
  return scaleAt;
}

/** What E4M3 values `stored` of a paged cache stand for under per (request, kv head) `descale`. */
export function dequantizePaged(stored: Float32Array, layout: PagedLayout, page: number, kvHeads: number, headDim: number, descale: Float32Array): Float32Array {
  const scaleAt = slotScales(layout, page, kvHeads, descale, stored.length / (kvHeads * headDim));
  const dequant = new Float32Array(stored.length);
  for (let i = 0; i < stored.length; i++) dequant[i] = stored[i] * scaleAt[Math.floor(i / headDim)];
  return dequant;
}

/**
 * Quantize a paged cache [slots, kvHeads, headDim]: `stored` holds the E4M3 values (saturated),
 * `dequant` what they stand for. Slots no request owns keep scale 1.
 */
export function quantizePaged(cache: Float32Array, layout: PagedLayout, page: number, kvHeads: number, headDim: number, descale: Float32Array) {
  const scaleAt = slotScales(layout, page, kvHeads, descale, cache.length / (kvHeads * headDim));
  // Scale in f32, then round to E4M3 and back all at once (encodeE4m3 works on the f32 bits,
  // decodeE4m3 looks the codes up): a 64k-token cache is millions of values.
  const scaled = new Float32Array(cache.length);
  for (let i = 0; i < cache.length; i++) scaled[i] = cache[i] / scaleAt[Math.floor(i / headDim)];
  const stored = decodeE4m3(encodeE4m3(scaled, true));
  return { stored, dequant: dequantizePaged(stored, layout, page, kvHeads, headDim, descale) };
}

/**
 * The K and V caches a paged kernel reads, from random `k` and `v`: rounded to T, or, when the
 * manifest's k_cache is E4M3, quantized with fresh per (request, kv head) descales. `k`/`v` are
 * what the reference reads (the dequantized values), `kStored`/`vStored` what the kernel gets.
 */
export function kernelCache(m: KernelManifest, cache: { kCache: Float32Array; vCache: Float32Array; paged: PagedLayout }, batch: number, kvHeads: number, rng: Rng) {
  const dtype = m.params.T as DType;
  const D = m.params.HEAD_DIM as number;
  const P = m.params.PAGE as number;
  const kvDtype = (m.tensors.find((t) => t.name === "k_cache")?.dtype ?? dtype) as DType;
  if (kvDtype !== "f8e4m3") {
    const [k, v] = [roundTo(dtype, cache.kCache), roundTo(dtype, cache.vCache)];
    return { kvDtype, k, v, kStored: k, vStored: v, descales: undefined };
  }
  const descales = { k: randomDescales(batch, kvHeads, rng), v: randomDescales(batch, kvHeads, rng) };
  const kq = quantizePaged(cache.kCache, cache.paged, P, kvHeads, D, descales.k);
  const vq = quantizePaged(cache.vCache, cache.paged, P, kvHeads, D, descales.v);
  return { kvDtype, k: kq.dequant, v: vq.dequant, kStored: kq.stored, vStored: vq.stored, descales };
}
