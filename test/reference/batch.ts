/**
 * Fixture builders for varlen batches and paged KV caches.
 *
 * makePagedCache produces a cache *and* the dense ragged K/V it stands for,
 * so every test can assert paged == contiguous. The page table is made
 * deliberately hostile: pages are shuffled, multi-page requests are never
 * physically contiguous, the tail of each last page and all spare pages hold
 * random garbage, and page 0 is never handed out (SGLang reserves it as the
 * dummy page that padded page-table entries point at).
 */
import type { PagedKv, RaggedKv } from "./paging.ts";
import { randn, shuffle, type Rng } from "./rng.ts";

/** cu_seqlens (length n + 1, starting at 0) for per-request lengths. */
export function makeVarlenBatch(lengths: readonly number[]): Int32Array {
  const cu = new Int32Array(lengths.length + 1);
  for (let b = 0; b < lengths.length; b++) {
    if (!Number.isInteger(lengths[b]) || lengths[b] < 0) throw new Error(`bad length ${lengths[b]} at ${b}`);
    cu[b + 1] = cu[b] + lengths[b];
  }
  return cu;
}

export interface PagedCacheSpec {
  kLens: readonly number[];
  pageSize: number;
  kvHeads: number;
  headDim: number;
  rng: Rng;
  /** Extra spare (garbage-filled, unreferenced) capacity, rounded up to whole pages. Default one page. */
  slotsExtra?: number;
}

export interface PagedCache {
  /** [numPages * pageSize, kvHeads, headDim]; page 0 is the unused dummy. */
  kCache: Float32Array;
  vCache: Float32Array;
  numPages: number;
  /** Ready to pass as `layout` to the reference (concrete typed arrays, for uploading). */
  paged: PagedKv & { pageTable: Int32Array; cacheSeqlens: Int32Array };
  /** Dense per-request copy: [totalK, kvHeads, headDim] with its ragged layout. */
  k: Float32Array;
  v: Float32Array;
  ragged: RaggedKv & { cuSeqlensK: Int32Array };
}

export function makePagedCache(spec: PagedCacheSpec): PagedCache {
  const { kLens, pageSize, kvHeads, headDim, rng } = spec;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`bad pageSize ${pageSize}`);
  const cuSeqlensK = makeVarlenBatch(kLens);
  const pagesPer = kLens.map((n) => Math.ceil(n / pageSize));
  const needed = pagesPer.reduce((a, b) => a + b, 0);
  const spare = Math.ceil((spec.slotsExtra ?? pageSize) / pageSize);
  const numPages = 1 + needed + spare; // + page 0, the dummy
  const maxPages = Math.max(1, ...pagesPer);

  // Allocate pages 1..numPages-1 in random order.
  const pool = shuffle(
    Array.from({ length: numPages - 1 }, (_, i) => i + 1),
    spec.rng,
  );
  // Unused entries point at the dummy page 0, as SGLang pads its tables.
  const pageTable = new Int32Array(kLens.length * maxPages);
  let next = 0;
  for (let b = 0; b < kLens.length; b++) {
    const pages = pool.slice(next, next + pagesPer[b]);
    next += pagesPer[b];
    // Shuffling can still produce an ascending run by chance; a kernel that
    // wrongly assumes contiguity would then pass, so break such runs.
    if (pages.length > 1 && pages.every((p, i) => i === 0 || p === pages[i - 1] + 1)) pages.reverse();
    pageTable.set(pages, b * maxPages);
  }

  const row = kvHeads * headDim;
  const slots = numPages * pageSize;
  // Random everywhere, so reading a wrong slot (dummy page, spare page, tail of
  // a last page) changes the answer instead of reading zeros.
  const kCache = randn(slots * row, rng);
  const vCache = randn(slots * row, rng);
  const totalK = cuSeqlensK[kLens.length];
  const k = new Float32Array(totalK * row);
  const v = new Float32Array(totalK * row);
  for (let b = 0; b < kLens.length; b++) {
    for (let j = 0; j < kLens[b]; j++) {
      const slot = pageTable[b * maxPages + Math.floor(j / pageSize)] * pageSize + (j % pageSize);
      const dst = (cuSeqlensK[b] + j) * row;
      k.set(kCache.subarray(slot * row, (slot + 1) * row), dst);
      v.set(vCache.subarray(slot * row, (slot + 1) * row), dst);
    }
  }
  return {
    kCache,
    vCache,
    numPages,
    paged: { kind: "paged", pageTable, maxPages, pageSize, cacheSeqlens: Int32Array.from(kLens) },
    k,
    v,
    ragged: { kind: "ragged", cuSeqlensK },
  };
}
