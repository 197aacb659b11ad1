// A paged cache's copied rows (row-reads.ts), from the CUDA C the compiler writes, no GPU: the
// page-table entries a thread's rows share are read once, and each row's place in its page is
// written without a remainder. The emitted expressions are evaluated as written, for every
// copying thread, row and a range of tile starts, and each row's cache slot is checked against
// the spec's page_table[(U + r) / P] * P + (U + r) % P over a shuffled table.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC, mlaWithBlockN } from "./harness/cuda-source.ts";

function cudaOf(name: string, blockN?: number): string {
  const mla = blockN === undefined ? undefined : mlaWithBlockN(blockN);
  return cudaKernel([path.resolve("kernels-src/mla.ts"), path.resolve("kernels-src/decode_split.ts")], name, { wgmma: true }, mla?.sources).code;
}

interface RowCopy {
  /** The page-table read of entry k: the position expression inside safe_div. */
  entryPos: string;
  reads: number;
  /** The tile start's name (U), the row expression, the entry index and the place in the page. */
  start: string;
  row: string;
  pick: string;
  place: string;
  P: number;
  trips: number;
}

/** Every batched copy of the latent rows that reads its page-table entries once (row-reads.ts). */
function rowCopies(code: string): RowCopy[] {
  const out: RowCopy[] = [];
  const re =
    /int (t_\d+_rows)\[(\d+)\];[^\n]*\n\s*#pragma unroll\n\s*for \(int k = 0; k < \d+; \+\+k\) \1\[k\] = page_table\[[^\n]*safe_div\(\(((t_\d+(?:_ahead)?) \+ [^\n]*?k \* \d+\))\), (\d+)\)\)\];[^]*?for \(int i = 0; i < (\d+); \+\+i\) \{\n\s*const int r = ([^;]+);[^]*?\(\(\1\[([^\]]+)\] \* \5\) \+ (\([^\n]*?\))\)\) \* c_kv_s0/g;
  for (const m of code.matchAll(re)) {
    out.push({ entryPos: m[3], reads: Number(m[2]), start: m[4], P: Number(m[5]), trips: Number(m[6]), row: m[7], pick: m[8], place: m[9] });
  }
  return out;
}

/** Checks every copying thread's rows against the spec's slot, over tile starts that are multiples of BN. */
function checkSlots(copy: RowCopy, BN: number, threads: [number, number]): number {
  const pages = 64;
  const table = Array.from({ length: pages }, (_, i) => (i * 37 + 11) % pages); // a fixed shuffle
  let checked = 0;
  for (let U = 0; U + BN <= (pages - 1) * copy.P && U < 8 * Math.max(BN, copy.P); U += BN)
    for (let tid = threads[0]; tid < threads[1]; tid++) {
      const rows = Array.from({ length: copy.reads }, (_, k) => table[Math.trunc(evalC(copy.entryPos, { tid, k, [copy.start]: U }) / copy.P)]);
      for (let i = 0; i < copy.trips; i++) {
        const r = evalC(copy.row, { tid, i });
        const slot = rows[evalC(copy.pick, { i })] * copy.P + evalC(copy.place, { tid, i, [copy.start]: U });
        expect(slot, `U ${U} tid ${tid} i ${i}`).toBe(table[Math.trunc((U + r) / copy.P)] * copy.P + ((U + r) % copy.P));
        checked++;
      }
    }
  return checked;
}

describe("paged rows: the entries a thread's rows share read once, their place in the page without a remainder", () => {
  it("64-key tiles at page 16 and 64 (each thread's rows 16 or 64 to a page): the place is the row's own", () => {
    for (const [P, reads] of [
      [16, 4],
      [64, 1],
    ]) {
      const code = cudaOf(`mla_decode_split.bf16.p${P}`);
      const copies = rowCopies(code);
      // the prologue's copy (every thread) and warpgroup 1's in the whole-tile loop
      expect(copies.length, `page ${P}`).toBeGreaterThanOrEqual(2);
      for (const c of copies) {
        expect(c.reads).toBe(reads);
        expect(c.place).not.toContain("safe_rem");
        const threads: [number, number] = c.row.includes("tid - 128") ? [128, 256] : [0, 256];
        expect(checkSlots(c, 64, threads)).toBeGreaterThan(1000);
      }
    }
  });

  it("32-key tiles at page 64 (every row of a tile in one page, the tile at either half of it)", () => {
    const code = cudaOf("mla_paged.bf16.p64", 32);
    const copies = rowCopies(code);
    expect(copies.length).toBeGreaterThanOrEqual(1);
    for (const c of copies) {
      expect(c.reads).toBe(1);
      expect(c.place).toContain(`${c.start} % 64`);
      expect(checkSlots(c, 32, [0, 256])).toBeGreaterThan(1000);
    }
  });
});
