/**
 * Where key position j of request b lives in the K/V tensor.
 *
 * The reference resolves every key through `keyRows`, so contiguous-ragged and
 * paged inputs go through identical arithmetic afterwards: paged == ragged is
 * then an exact (bitwise) equality, which makes page-table bugs easy to spot.
 */

/** Contiguous ragged K/V: request b owns rows cuSeqlensK[b] .. cuSeqlensK[b+1]-1. */
export interface RaggedKv {
  kind: "ragged";
  cuSeqlensK: ArrayLike<number>;
}

/**
 * Paged K/V cache (SGLang / FlashAttention `page_table` layout): the cache is
 * [slots, kvHeads, dim]; key j of request b is slot
 * pageTable[b * maxPages + floor(j / pageSize)] * pageSize + j % pageSize.
 */
export interface PagedKv {
  kind: "paged";
  pageTable: ArrayLike<number>;
  maxPages: number;
  pageSize: number;
  cacheSeqlens: ArrayLike<number>;
}

export type KvLayout = RaggedKv | PagedKv;

/** Slot (row of the cache) holding key position j of request b. */
export function pagedSlot(
  pageTable: ArrayLike<number>,
  maxPages: number,
  pageSize: number,
  b: number,
  j: number,
): number {
  const page = pageTable[b * maxPages + Math.floor(j / pageSize)];
  return page * pageSize + (j % pageSize);
}

/** Number of requests the layout describes. */
export function layoutBatch(layout: KvLayout): number {
  return layout.kind === "ragged" ? layout.cuSeqlensK.length - 1 : layout.cacheSeqlens.length;
}

/** Key length of request b. */
export function keyLength(layout: KvLayout, b: number): number {
  return layout.kind === "ragged" ? layout.cuSeqlensK[b + 1] - layout.cuSeqlensK[b] : layout.cacheSeqlens[b];
}

/**
 * Row index into the K/V tensor for every key position of request b.
 * Checks the layout as it goes, because a malformed table in a test fixture
 * would otherwise show up as a confusing kernel mismatch.
 */
export function keyRows(layout: KvLayout, b: number, numRows: number): Int32Array {
  const kLen = keyLength(layout, b);
  if (!Number.isInteger(kLen) || kLen < 0) throw new Error(`request ${b}: bad key length ${kLen}`);
  const rows = new Int32Array(kLen);
  if (layout.kind === "ragged") {
    const start = layout.cuSeqlensK[b];
    for (let j = 0; j < kLen; j++) rows[j] = start + j;
  } else {
    const { pageTable, maxPages, pageSize } = layout;
    if (!(pageSize > 0) || !Number.isInteger(pageSize)) throw new Error(`bad pageSize ${pageSize}`);
    if (pageTable.length !== layoutBatch(layout) * maxPages) {
      throw new Error(`pageTable length ${pageTable.length} != batch * maxPages`);
    }
    if (Math.ceil(kLen / pageSize) > maxPages) {
      throw new Error(`request ${b}: ${kLen} keys need more than maxPages=${maxPages} pages of ${pageSize}`);
    }
    for (let j = 0; j < kLen; j++) rows[j] = pagedSlot(pageTable, maxPages, pageSize, b, j);
  }
  for (let j = 0; j < kLen; j++) {
    if (rows[j] < 0 || rows[j] >= numRows) {
      throw new Error(`request ${b}, key ${j}: row ${rows[j]} outside K/V tensor of ${numRows} rows`);
    }
  }
  return rows;
}
