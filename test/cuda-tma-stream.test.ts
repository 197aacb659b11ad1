// TMA copies of the whole tiles of one-buffer loops (tma-stream.ts), from the CUDA C the compiler
// writes, no GPU: which tiles take them (rows that are a run of their tensor's first dim or come
// from pages of at least 16 rows, the loop over whole tiles, sm_90a; cp.async kept for other
// architectures, masked loops and one-row pages; an fp8 cache's staged E4M3 tiles as dense boxes
// that the widening reads), the kernel parameters and the manifest's maps ([tokens, heads x
// head_dim]), the boxes onto one mbarrier a tile armed with its bytes (thread 0's, or lane j's for
// page j), the waits' parities, and each box's corner and destination, evaluated for a range of
// heads, sequence starts, tiles and (over a shuffled page table) pages. The copies ran on an H200 (the CUDA suite, bench/results/h200-*-tma-2026-11-30*).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC, gqaOneWarpgroup, mhaOneWarpgroup, swaOneWarpgroup } from "./harness/cuda-source.ts";

// The plain one-buffer loop: head dims 64 and 128 run an overlapped version of it on sm_90a by
// default (overlap.ts; test/cuda-overlap.test.ts), which copies the same tiles its own way.
// mha_prefill with one warpgroup a block (its shipped Hopper builds are warp-specialized, whose
// producer copies whole tiles as these boxes: cuda-warp-specialize.test.ts).
const ONE = mhaOneWarpgroup();
// gqa_paged's and swa_paged's one-warpgroup builds (warp-specialized on Hopper now).
const GQA = gqaOneWarpgroup();
const SWA = swaOneWarpgroup();
const prefill = (name: string, opts = {}) => cudaKernel([ONE.file], name, { wgmma: true, overlap: false, ...opts }, ONE.sources);

/** The loop over whole tiles (from its header to the barrier after it), and the rest. */
function fullLoop(code: string): { header: RegExpExecArray; body: string; outside: string } {
  const at = code.indexOf("  // full tiles\n");
  const end = code.indexOf("__syncthreads(); // the tiles' shared memory is free", at);
  const header = /for \(int (t_\d+) = (t_\d+); \1 < (t_\d+); \+\+\1\) \{/.exec(code.slice(at))!;
  return { header, body: code.slice(at, end), outside: code.slice(0, at) + code.slice(end) };
}

// sw128 as the kernels define it (the swizzled tile's byte offset of (row, col)).
const sw128 = (row: number, col: number, rows: number) => (col >> 6) * rows * 128 + row * 128 + ((((col >> 3) & 7) ^ (row & 7)) << 4) + (col & 7) * 2;

describe("TMA copies of a one-buffer loop's whole tiles (sm_90a)", () => {
  for (const [D, causal, rows] of [[128, false, 64], [128, true, 64], [64, true, 128], [256, false, 64]] as const) {
    const name = `mha_prefill.bf16.hd${D}.${causal ? "causal" : "nocausal"}`;
    it(`${name}: K and V by thread 0 as ${D / 64} box(es) of ${rows} rows, one mbarrier each, waited for with the iteration's parity`, () => {
      const k = prefill(name);
      expect(k.target.tensorMaps).toEqual(["k", "v"].map((tensor) => ({ tensor, box: [64, rows], swizzle: 128, rowDims: 2 })));
      expect(k.code).toContain("    const Params P,\n    const __grid_constant__ TmaMap k_map,\n    const __grid_constant__ TmaMap v_map1) {");
      const { header, body, outside } = fullLoop(k.code);
      const [, iv, lo] = header;
      // The masked loops before and after keep cp.async, and no wait there is on an mbarrier.
      expect(outside).not.toMatch(/mbar_wait\(smem/);
      expect(outside.match(/tma_box_reused\(smem/g)?.length, "the first whole tile's K, issued before the loop").toBe(D / 64);
      const bars = [...k.code.matchAll(/mbar_init\(smem \+ (\d+)\);/g)].map((m) => Number(m[1]));
      expect(bars.length).toBe(2);
      expect(k.target.sharedBytes).toBe(bars[1] + 8);
      for (const [tile, bar] of [["K", bars[0]], ["V", bars[1]]] as const) {
        const issues = [...k.code.matchAll(new RegExp(`if \\(tid == 0\\) \\{ // ${tile}_\\d+ by TMA: ${D / 64} box\\(es\\) of ${rows} rows x 64 columns\\n\\s*mbar_expect_bytes\\(smem \\+ ${bar}, ${rows * D * 2}\\);`, "g"))];
        expect(issues.length, `${tile}: issued ${tile === "K" ? "before the loop and for the next tile" : "at the tile's top"}`).toBe(tile === "K" ? 2 : 1);
        // One wait a tile, on this iteration's phase: (iv - lo) & 1, before the barrier that publishes it.
        const waits = body.match(new RegExp(`mbar_wait\\(smem \\+ ${bar}, \\(${iv} - ${lo}\\) & 1\\); // ${tile}_\\d+'s boxes landed\\n\\s*#endif\\n\\s*cp_async_wait<0>\\(\\);[^\\n]*\\n\\s*fence_async_proxy\\(\\);[^\\n]*\\n\\s*__syncthreads\\(\\);`, "g"));
        expect(waits?.length, `${tile}'s wait`).toBe(1);
      }
      // Other architectures copy the same tiles with cp.async (this tile's V, the next tile's K).
      expect(body.match(/#else\s*\n\s*\/\/ [KV]_\d+: \d+ x \d+ into shared memory, 16-byte cp\.async per 8 elements/g)?.length).toBe(2);
      // No L2 hint: other row blocks of the head read these tiles again.
      expect(k.code).not.toContain("evict_first");
    });
  }

  it("each box's corner is the tile's first key of its head in the [tokens, heads x head_dim] view, its destination that block of the tile", () => {
    const { body } = fullLoop(prefill("mha_prefill.bf16.hd128.nocausal").code);
    const issues = [...body.matchAll(/\/\/ ([KV])_\d+ by TMA[^\n]*\n[^\n]*\n\s*const int x = ([^,]+), y = ([^;]+);\n((?:\s*tma_box_reused\([^\n]+\n)+)/g)];
    expect(issues.map((m) => m[1]).sort()).toEqual(["K", "V"]);
    let checked = 0;
    for (const [, tile, x, y, calls] of issues) {
      const vars = (h: number, k0: number, t: number) => {
        const names: Record<string, number> = {};
        for (const n of `${x} ${y}`.match(/\b[a-z0-9]+_\d+(?:_ahead)?\b/g) ?? []) {
          if (n.startsWith("h_")) names[n] = h;
          else if (n.startsWith("k0_")) names[n] = k0;
          else names[n] = n.endsWith("_ahead") ? (t + 1) * 64 : t * 64; // K is copied for the next tile
        }
        return { ...names, k_s1: 128, v_s1: 128 };
      };
      const sites = [...calls.matchAll(/tma_box_reused\(smem \+ (\d+) \+ sw128\(0, (\d+), 64\), &(\w+), x \+ (\d+), y, smem \+ \d+\);/g)];
      expect(sites.length).toBe(2);
      for (const h of [0, 3, 15])
        for (const k0 of [0, 4096, 12288])
          for (const t of [0, 1, 7]) {
            const env = vars(h, k0, t);
            const cx = evalC(x.replace(/\((long long|int)\)/g, ""), env);
            const cy = evalC(y, env);
            expect(cx, "the head's first column").toBe(h * 128);
            expect(cy, "the tile's first key").toBe(k0 + (tile === "K" ? t + 1 : t) * 64);
            for (const [, base, col, map, dx] of sites) {
              expect(map).toBe(tile === "K" ? "k_map" : "v_map1");
              expect(Number(dx)).toBe(Number(col));
              expect(Number(base)).toBe(tile === "K" ? 16384 : 32768);
              expect(sw128(0, Number(col), 64)).toBe(Number(col) * 128);
              checked++;
            }
          }
    }
    expect(checked).toBe(2 * 2 * 27);
  });

  for (const [file, name, P] of [["gqa.ts", "gqa_paged.bf16.g4.p16", 16], ["gqa.ts", "gqa_paged.bf16.g4.p64", 64], ["sliding_window.ts", "swa_paged.bf16.p16", 16]] as const) {
    it(`${name}: rows from pages of ${P}, one box a page and 64-column block issued by lane j of warp 0 for page j, its corner that page's first slot`, () => {
      const one = file === "gqa.ts" ? GQA : SWA;
      const k = cudaKernel([one.file], name, { wgmma: true }, one.sources);
      expect(k.target.tensorMaps).toEqual(["k_cache", "v_cache"].map((tensor) => ({ tensor, box: [64, P], swizzle: 128, rowDims: 2 })));
      const { header, body, outside } = fullLoop(k.code);
      expect(outside).not.toMatch(/mbar_wait\(smem/);
      const table = Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 64); // a fixed shuffle
      const issues = [...k.code.matchAll(/if \(tid < 32\) \{ \/\/ ([KV])_\d+ by TMA: lane j issues page j's boxes \((\d+) page\(s\) x 2 box\(es\) of (\d+) rows x 64 columns\)\n\s*if \(lane == 0\) mbar_expect_bytes\(smem \+ (\d+), 16384\);\n\s*__syncwarp\(\);\n\s*if \(lane < (\d+)\) \{\n\s*const int x = ([^,]+), y = ([^;]+);\n((?:\s*tma_box_reused\([^\n]+\n)+)/g)];
      expect(issues.map((m) => m[1])).toEqual(["K", "V", "K"]); // the first whole tile's K, then V and the next K in the loop
      let checked = 0;
      for (const [, tile, pages, rows, bar, lanes, x, y, calls] of issues) {
        expect([Number(pages), Number(rows), Number(lanes)]).toEqual([64 / P, P, 64 / P]);
        expect(body).toContain(`mbar_wait(smem + ${bar}, (${header[1]} - ${header[2]}) & 1);`);
        const start = /\((t_\d+(?:_ahead)?) \+ \(lane \* \d+\)\)/.exec(y)![1];
        const kvh = /\((kvh_\d+)\)/.exec(x)![1];
        const b = /\(long long\)\((b_\d+)\) \* page_table_s0/.exec(y)![1];
        const yExpr = y.replace(/\((long long|int)\)/g, "").replace(/page_table\[([^\]]+)\]/, "table[$1]");
        for (const U of [0, 64, 448])
          for (let lane = 0; lane < 64 / P; lane++) {
            const env = { table: table as never, [b]: 0, page_table_s0: 64, [start]: U, lane, [kvh]: 3, k_cache_s1: 128, v_cache_s1: 128 };
            expect(evalC(yExpr, env), `${tile} U ${U} lane ${lane}`).toBe(table[(U + lane * P) / P] * P);
            expect(evalC(x.replace(/\((long long|int)\)/g, ""), env)).toBe(3 * 128);
            for (const [, dst, col, dx] of calls.matchAll(/tma_box_reused\(smem \+ \d+ \+ sw128\(\(lane \* (\d+)\), (\d+), 64\), &\w+, x \+ (\d+), y,/g)) {
              expect([Number(dst), Number(dx)]).toEqual([P, Number(col)]);
              checked++;
            }
          }
      }
      expect(checked).toBe(3 * 3 * (64 / P) * 2);
    });
  }

  for (const P of [16, 64]) {
    const name = `gqa_paged_fp8.bf16.g4.p${P}`;
    it(`${name}: the staged E4M3 tiles as one dense box of 128 bytes a page, the widening reading the rows the boxes wrote`, () => {
      // The plain loop (on sm_90a the whole tiles run the overlapped one, test/cuda-overlap.test.ts),
      // as the build's fallback level makes it: without the split query too (dropped first).
      const k = cudaKernel([path.resolve("kernels-src/gqa.ts")], name, { wgmma: true, overlap: false, splitScores: false });
      expect(k.target.tensorMaps).toEqual(["k_cache", "v_cache"].map((tensor) => ({ tensor, box: [128, P], swizzle: 0, rowDims: 2 })));
      const { header, body, outside } = fullLoop(k.code);
      expect(outside).not.toMatch(/mbar_wait\(smem/);
      const table = Array.from({ length: 64 }, (_, i) => (i * 29 + 5) % 64); // a fixed shuffle
      const issues = [...k.code.matchAll(/if \(tid < 32\) \{ \/\/ ([KV])_\d+ by TMA: lane j issues page j's boxes \((\d+) page\(s\) x 1 box\(es\) of (\d+) rows x 128 columns \(E4M3 bytes, dense rows\)\)\n\s*if \(lane == 0\) mbar_expect_bytes\(smem \+ (\d+), 8192\);\n\s*__syncwarp\(\);\n\s*if \(lane < (\d+)\) \{\n\s*const int x = ([^,]+), y = ([^;]+);\n\s*tma_box_reused\(smem \+ (\d+) \+ \(lane \* (\d+)\) \* 128 \+ 0, &(\w+), x \+ 0, y, smem \+ (\d+)\);\n/g)];
      expect(issues.map((m) => m[1])).toEqual(["K", "V", "K"]); // the first whole tile's K, then V and the next K in the loop
      const bars = [...k.code.matchAll(/mbar_init\(smem \+ (\d+)\);/g)].map((m) => Number(m[1]));
      expect(k.target.sharedBytes).toBe(bars[1] + 8);
      let checked = 0;
      for (const [, tile, pages, rows, bar, lanes, x, y, base, laneRows, map, bar2] of issues) {
        expect([Number(pages), Number(rows), Number(lanes), Number(laneRows)]).toEqual([64 / P, P, 64 / P, P]);
        expect([map, Number(bar2)]).toEqual([tile === "K" ? "k_cache_map" : "v_cache_map1", Number(bar)]);
        expect(body).toContain(`mbar_wait(smem + ${bar}, (${header[1]} - ${header[2]}) & 1);`);
        // Every thread widens 16 bytes of a row a step from the dense rows the boxes wrote: lane
        // j's box covers rows j x P .. j x P + P - 1 of 128 bytes from base + row x 128.
        expect(body).toContain(`const uint4 w = *reinterpret_cast<const uint4*>(smem + ${base} + r * 128 + c);`);
        const start = /\((t_\d+(?:_ahead)?) \+ \(lane \* \d+\)\)/.exec(y)![1];
        const kvh = /\((kvh_\d+)\)/.exec(x)![1];
        const b = /\(long long\)\((b_\d+)\) \* page_table_s0/.exec(y)![1];
        const yExpr = y.replace(/\((long long|int)\)/g, "").replace(/page_table\[([^\]]+)\]/, "table[$1]");
        for (const U of [0, 64, 448])
          for (let lane = 0; lane < 64 / P; lane++)
            for (const h of [0, 5]) {
              const env = { table: table as never, [b]: 0, page_table_s0: 64, [start]: U, lane, [kvh]: h, k_cache_s1: 128, v_cache_s1: 128 };
              expect(evalC(yExpr, env), `${tile} U ${U} lane ${lane}`).toBe(table[(U + lane * P) / P] * P);
              expect(evalC(x.replace(/\((long long|int)\)/g, ""), env), "the head's first byte").toBe(h * 128);
              checked++;
            }
      }
      expect(checked).toBe(3 * 3 * (64 / P) * 2);
      // The staging tiles hold dense rows: 8 KiB each, the widened tile past them.
      const widened = [...body.matchAll(/fp8x8_widen<(?:true|false)>\(smem \+ (\d+) \+ sw128/g)].map((m) => Number(m[1]));
      const bases = issues.map((m) => Number(m[9]));
      expect(Math.min(...widened)).toBeGreaterThanOrEqual(Math.max(...bases) + 64 * 128);
    });
  }

  it("keeps cp.async without wgmma, with the option off, for one-row pages and for 8-bit tiles at one-row pages", () => {
    for (const k of [prefill("mha_prefill.bf16.hd128.nocausal", { wgmma: false }), prefill("mha_prefill.bf16.hd128.nocausal", { tmaStreams: false })]) {
      expect(k.target.tensorMaps).toBeUndefined();
      expect(k.code).not.toContain("TmaMap");
      expect(k.code).not.toContain("mbar_");
    }
    for (const name of ["gqa_paged.bf16.g4.p1", "gqa_paged_fp8.bf16.g4.p1"]) {
      const k = cudaKernel([path.resolve("kernels-src/gqa.ts")], name, { wgmma: true });
      expect(k.target.tensorMaps, name).toBeUndefined();
      expect(k.code).toContain("cp_async16(");
    }
  });
});
