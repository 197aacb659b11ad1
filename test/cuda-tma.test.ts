// TMA copies of a leader loop's tiles (tma.ts), from the CUDA C the compiler writes, no GPU: which
// builds take them (whole pages of at least 16 rows, the whole tiles' loop, sm_90a; cp.async kept
// for other architectures and for the masked loops), the kernel parameter and the manifest's
// tensor map, one mbarrier a buffer armed with the tile's bytes, the waits, and each box's corner
// and destination: the emitted expressions are evaluated for every issuing lane and a range of
// tile starts over a shuffled page table and checked against the spec's slot
// page_table[(U + r) / P] * P + (U + r) % P. The boxes themselves ran on an H200 (the CUDA suite).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC } from "./harness/cuda-source.ts";

const split = (name: string) => cudaKernel([path.resolve("kernels-src/mla.ts"), path.resolve("kernels-src/decode_split.ts")], name, { wgmma: true });

/** The whole tiles' loop of a kernel, and the code before and after it. */
function loops(code: string): { before: string; full: string; after: string } {
  const at = code.indexOf("// full tiles");
  const end = code.indexOf("__syncthreads(); // the loop's published rows are read", at);
  return { before: code.slice(0, at), full: code.slice(at, end), after: code.slice(end) };
}

// sw128 as the kernels define it (the swizzled tile's byte offset of (row, col)).
const sw128 = (row: number, col: number, rows: number) => (col >> 6) * rows * 128 + row * 128 + ((((col >> 3) & 7) ^ (row & 7)) << 4) + (col & 7) * 2;

describe("TMA copies of the leader loop's whole tiles (sm_90a)", () => {
  for (const P of [16, 64]) {
    it(`page ${P}: a ${P}-row box a page and 64-column block, issued by warp 4's lanes, waited for on one mbarrier a buffer`, () => {
      const k = split(`mla_decode_split.bf16.p${P}`);
      expect(k.target.tensorMaps).toEqual([{ tensor: "c_kv", box: [64, P], swizzle: 128 }]);
      expect(k.code).toContain("    const Params P,\n    const __grid_constant__ TmaMap c_kv_map) {");
      const { before, full, after } = loops(k.code);
      // Only the whole tiles (no predicate) go by TMA; the masked loops before and after copy with cp.async.
      expect(before + after).not.toContain("tma_box(smem");
      expect(after).toContain("cp_async16(");
      const [leader, others] = full.split("} else { // the other groups");
      expect(leader).not.toContain("tma_box(smem");
      // Latent 64 x 512 and rope 64 x 64: 73728 bytes a tile on the mbarrier of its buffer.
      expect(others).toMatch(/if \(\(unsigned\)\(tid - 128\) < 32u\) \{\s*if \(lane == 0\) mbar_expect_bytes\(smem \+ (\d+) \+ \(\(\(t_\d+ \+ 1\)\) & 1\) \* 8, 73728\);\s*__syncwarp\(\);/);
      expect(others.match(/tma_box\(smem/g)?.length).toBe(9);
      // Each box streams through L2 as evict-first, under a policy made once (createpolicy, not volatile).
      const box = k.code.slice(k.code.indexOf("void tma_box("), k.code.indexOf("#endif", k.code.indexOf("void tma_box(")));
      expect(box).toContain('asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\\n" : "=l"(policy));');
      expect(box).toMatch(/mbarrier::complete_tx::bytes\.L2::cache_hint \[%0\], \[%1, \{%2, %3\}\], \[%4\], %5;/);
      expect(others.match(new RegExp(`if \\(lane < ${64 / P}\\) \\{`, "g"))?.length).toBe(2);
      // Every tile after the loop's first waits for its boxes, in both groups' versions, before the barrier.
      for (const version of [leader, others])
        expect(version).toMatch(/if \((t_\d+) > (t_\d+)\) mbar_wait\(smem \+ \d+ \+ \(\(\1\) & 1\) \* 8, \(\(\1 - \2 - 1\) >> 1\) & 1\);[^]*?cp_async_wait<0>\(\);[^]*?__syncthreads\(\);/);
      // The cp.async copies stay as the other architectures' path.
      expect(others).toMatch(/#else\s*\/\/ C_\d+: 64 x 512 into shared memory, 16-byte cp\.async/);
      // Two mbarriers past the published tile and row slots, initialized by thread 0 at the start.
      const bars = Number(/mbar_expect_bytes\(smem \+ (\d+)/.exec(others)![1]);
      expect(k.target.sharedBytes).toBe(bars + 16);
      expect(k.code).toContain(`for (int i = 0; i < 2; ++i) mbar_init(smem + ${bars} + i * 8);`);
    });

    it(`page ${P}: each box's corner is its page's first row of c_kv, each destination that page's rows of its block`, () => {
      const { full } = loops(split(`mla_decode_split.bf16.p${P}`).code);
      const table = Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 64); // a fixed shuffle
      const boxes = [...full.matchAll(/const int x = ([^,]+), y = \(int\)\(([^\n]+)\);\n((?:\s*tma_box\([^\n]+\n)+)/g)];
      expect(boxes.length).toBe(2); // latent, rope
      let checked = 0;
      for (const [i, [, x, y, calls]] of boxes.entries()) {
        expect(evalC(x, {}), "the tile's first column of c_kv").toBe([0, 512][i]);
        const ahead = /t_\d+_ahead/.exec(y)![0];
        const b = /\(long long\)\((b_\d+)\) \* page_table_s0/.exec(y)![1];
        // page_table[b * s0 + e] for b = 0: the shuffled table; the casts dropped, strides as the kernel's.
        const yExpr = y.replace(/\((long long|int)\)/g, "").replace(/page_table\[([^\]]+)\]/, "table[$1]");
        const sites = [...calls.matchAll(/tma_box\(smem \+ .*? \+ sw128\(\(lane \* (\d+)\), (\d+), 64\), &c_kv_map, x \+ (\d+), y,/g)];
        expect(sites.length).toBe(calls.match(/tma_box/g)!.length);
        for (let U = 0; U + 64 <= 63 * P && U < 8 * 64; U += 64)
          for (let lane = 0; lane < 64 / P; lane++) {
            const row = evalC(yExpr, { table: table as never, [b]: 0, page_table_s0: 64, [ahead]: U, lane, c_kv_s0: 576, c_kv_s1: 576 });
            expect(row, `U ${U} lane ${lane}`).toBe(table[Math.trunc((U + lane * P) / P)] * P + ((U + lane * P) % P));
            for (const [, rowsA, col, dx] of sites) {
              expect(Number(rowsA)).toBe(P);
              // box (x + dx) of the [rows, 576] view lands on the tile's rows lane * P.., columns col..
              expect(Number(dx)).toBe(Number(col));
              expect(sw128(lane * P, Number(col), 64)).toBe((Number(col) / 64) * 8192 + lane * P * 128);
              checked++;
            }
          }
      }
      expect(checked).toBeGreaterThan(50);
    });
  }

  it("page 1 keeps cp.async (a one-row box was 6x slower on an H200); other kernels' loops copy their own way (tma-stream.ts)", () => {
    const k = split("mla_decode_split.bf16.p1");
    expect(k.target.tensorMaps).toBeUndefined();
    expect(k.code).not.toContain("tma_box(");
    expect(k.code).not.toContain("TmaMap");
    const prefill = cudaKernel([path.resolve("kernels-src/mha.ts")], "mha_prefill.bf16.hd128.causal", { wgmma: true });
    expect(prefill.code).not.toContain("tma_box(");
    expect(prefill.code).toContain("tma_box_reused(");
  });
});
