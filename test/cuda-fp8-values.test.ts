// E4M3 value tiles read straight into mma.sync B fragments (fp8-values.ts), from the CUDA C the
// compiler writes, no GPU: which tiles take the path (the fp8 split decode's V; not 16-bit caches,
// not wgmma kernels), that no widened tile is written or allocated, and, evaluated for every lane,
// k step and n8 tile, that each byte a lane packs is the value m16n8k16 wants in that place of
// its B fragment. The kernels ran on an H200 (bench/results/h200-cuda-suite-fp8-v-regs-*).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC } from "./harness/cuda-source.ts";

const split = (name: string) => cudaKernel([path.resolve("kernels-src/decode_split.ts")], name);

describe("E4M3 values widened in registers", () => {
  const k = split("gqa_decode_split_fp8.bf16.g4.p16");

  it("reads P·V's B from V's E4M3 copy in every loop, with no widening pass or widened tile", () => {
    expect(k.code.match(/values read as E4M3 and widened in registers/g)?.length).toBe(3); // head, whole and tail tiles
    expect(k.code).not.toMatch(/fp8x8_widen<(true|false)>\(smem|ldsm_x[24]_trans\(b, smem/);
    // Q (16 rows of 272 bytes) and the two byte tiles (32 rows of 144): nothing else.
    expect(k.target.sharedBytes).toBe(4352 + 2 * 32 * 144);
    // P·V runs in f16 (the alias's PV), its A from the probabilities in registers.
    expect(k.code).toMatch(/for \(int mt = 0; mt < 1; \+\+mt\) mma_f16\(&carry_\d+\[\(mt \* 16 \+ nt\) \* 4\], a\[mt\], e4m3x2_widen<false>\(x, 0\), e4m3x2_widen<false>\(x, 1\)\);/);
  });

  it("packs, for lane (g, t4), k step kk and n8 tile nt, the bytes of rows 2t4, 2t4 + 1, 2t4 + 8, 2t4 + 9 at column 8nt + g", () => {
    const addr = /const unsigned char\* vb = smem \+ (\d+) \+ ([^;]+);/.exec(k.code)!;
    const pack = /const uint32_t x = \(uint32_t\)vb\[0\] \| \(\(uint32_t\)vb\[(\d+)\] << 8\) \| \(\(uint32_t\)vb\[(\d+)\] << 16\) \| \(\(uint32_t\)vb\[(\d+)\] << 24\);/.exec(k.code)!;
    const base = Number(addr[1]);
    // The V copy's region: where its cp.async chunks land (row stride 144).
    expect(k.code).toMatch(new RegExp(`cp_async16\\(smem \\+ ${base} \\+ r \\* 144 \\+ c, v_cache`));
    const offsets = [0, Number(pack[1]), Number(pack[2]), Number(pack[3])];
    let checked = 0;
    for (let kk = 0; kk < 2; kk++)
      for (let nt = 0; nt < 16; nt++)
        for (let g = 0; g < 8; g++)
          for (let t4 = 0; t4 < 4; t4++) {
            const at = evalC(addr[2], { kk, nt, g, t4 });
            // Byte i of x: the low half (i = 0, 1) is b0 = B[2t4 .. 2t4 + 1][g], the high half b1 = B[2t4 + 8 .. 2t4 + 9][g].
            const rows = [0, 1, 8, 9].map((d) => 16 * kk + 2 * t4 + d);
            offsets.forEach((o, i) => {
              const byte = at + o;
              expect(Math.floor(byte / 144)).toBe(rows[i]);
              expect(byte % 144).toBe(8 * nt + g);
              checked++;
            });
          }
    expect(checked).toBe(2 * 16 * 8 * 4 * 4);
  });

  it("leaves 16-bit caches and wgmma kernels alone", () => {
    expect(split("gqa_decode_split.bf16.g4.p16").code).not.toMatch(/fp8-values/);
    const paged = cudaKernel([path.resolve("kernels-src/gqa.ts")], "gqa_paged_fp8.bf16.g4.p16", { wgmma: true }).code;
    expect(paged).not.toMatch(/fp8-values/);
    expect(paged).toMatch(/fp8 widened to/);
  });
});
