// The overlapped fp8 loop's scores as FP8 wgmma on K's staged bytes, the query split into hi and
// lo E4M3 tiles (split-scores.ts): which builds take it, what it changes in the loop and the
// tensor maps, and the split's arithmetic as emitted, checked in float64 against the query.
import { describe, expect, it } from "vitest";
import { roundToE4m3 } from "../runtime/fp8.ts";
import { cudaKernel, evalC, overlapSections } from "./harness/cuda-source.ts";
import { randn, roundToBf16, withSeed } from "./reference/numeric.ts";

const build = (name: string, splitScores?: boolean) => cudaKernel(["kernels-src/gqa.ts"], name, { wgmma: true, blocksPerSm: 3, splitScores });

const sections = overlapSections;

const mapOf = (k: ReturnType<typeof build>, tensor: string) => k.target.tensorMaps!.find((m) => m.tensor === tensor)!;

describe("the split query's FP8 scores in the overlapped fp8 loop", () => {
  for (const name of ["gqa_paged_fp8.bf16.g4.p16", "gqa_paged_fp8.f16.g1.p64"]) {
    it(`${name}: the scores read K's staged bytes, K's boxes swizzled; the masked loops and other architectures keep the widening`, () => {
      const k = build(name);
      const { loop, rest } = sections(k.code);
      expect(mapOf(k, "k_cache").swizzle).toBe(128);
      expect(mapOf(k, "v_cache").swizzle).toBe(0);
      // Every scores issue of the loop (before it, two in its body, the odd tile) FP8, none 16-bit.
      expect(loop.match(/wgmma_m64n64k32_ss_e4m3\(/g)?.length).toBe(4);
      expect(loop).not.toMatch(/wgmma_m64n64k16_ss_(bf16|f16)/);
      // No K widening in the loop (V's widenings to f16 remain); the masked loops still widen K.
      const widenK = name.includes(".bf16.") ? "fp8x8_widen<true>" : "fp8x8_widen<false>(smem + 32768";
      expect(loop).not.toContain(widenK);
      expect(rest).toContain(widenK);
      // The scale of the scores taken a row (times the row's 1/s), nowhere the scalar itself.
      const scale = /const float (scale2_\d+) = /.exec(k.code)![1];
      expect(loop).not.toMatch(new RegExp(`\\* ${scale}\\)`));
      expect(loop.match(/\* t_\d+_rows\[mt \* 2 \+ h\]\)/g)?.length).toBe(4);
      expect(rest).toMatch(new RegExp(`\\* ${scale}\\)`));
      // The query read as its dtype.
      expect(loop.includes("__half22float2")).toBe(name.includes(".f16."));
    });
  }

  it("off (the build's fallback level), the loop widens K as before and K's boxes are dense", () => {
    const k = build("gqa_paged_fp8.bf16.g4.p16", false);
    const { loop } = sections(k.code);
    expect(mapOf(k, "k_cache").swizzle).toBe(0);
    expect(loop).not.toContain("e4m3");
    expect(loop).toContain("fp8x8_widen<true>");
    expect(k.target.sharedBytes).toBe(build("gqa_paged_fp8.bf16.g4.p16").target.sharedBytes);
  });

  it("takes no loop over a 16-bit cache", () => {
    expect(build("gqa_paged.bf16.g4.p16").code).not.toContain("e4m3");
    expect(build("gqa_paged.bf16.g4.p1").code).not.toContain("e4m3");
  });

  it("splits each row as emitted: hi + lo within 2^-9 of every element, the row's largest under E4M3's 448", () => {
    const code = build("gqa_paged_fp8.bf16.g4.p16").code;
    // The emitted exponent clamp, scale and inverse: s = 2^(S - e), 1/s = 2^(e - I), e clamped to [lo, hi].
    const [, cLo, cHi] = /const int e = min\(max\(\(__float_as_int\(amax\) >> 23\) & 255, (\d+)\), (\d+)\);/.exec(code)!.map(Number);
    const S = Number(/const float s = __int_as_float\(\((\d+) - e\) << 23\);/.exec(code)![1]) - 127;
    const I = Number(/\* __int_as_float\(\(e - (\d+)\) << 23\);/.exec(code)![1]) + 127;
    const exponentField = (x: number) => (x === 0 ? 0 : Math.floor(Math.log2(x)) + 127);
    const split = (row: number[], withLo: boolean) => {
      const amax = Math.max(...row.map(Math.abs));
      const e = Math.min(Math.max(exponentField(amax), cLo), cHi);
      const s = 2 ** (S - e);
      const inv = 2 ** (e - I);
      expect(s * inv).toBe(1);
      expect(amax * s).toBeLessThan(448);
      if (amax > 0 && amax > 2 ** -100) expect(amax * s).toBeGreaterThanOrEqual(128);
      return row.map((x) => {
        const hi = roundToE4m3(x * s, true);
        const lo = withLo ? roundToE4m3(x * s - hi, true) : 0;
        return { x, back: (hi + lo) * inv, floor: 2 ** -10 * inv };
      });
    };
    const worst = (withLo: boolean) => withSeed((rng) => {
      let w = 0;
      for (const scale of [2 ** -30, 1e-3, 1, 37, 2 ** 40]) {
        for (let t = 0; t < 50; t++) {
          // Rows of one magnitude, and rows whose elements span 20 binades.
          const row = Array.from(roundToBf16(randn(128, rng, scale).map((x) => x * (t % 5 === 0 ? 2 ** (-20 * rng()) : 1))));
          if (t === 7) row.fill(0);
          for (const { x, back, floor } of split(row, withLo)) w = Math.max(w, Math.abs(back - x) / (Math.abs(x) * 2 ** -9 + floor));
        }
      }
      return w;
    });
    const w = worst(true);
    expect(w).toBeLessThanOrEqual(1);
    expect(w, "some element not exact: the bound is met, not vacuous").toBeGreaterThan(0.05);
    // hi alone keeps 4 significant bits: the bound fails without lo.
    expect(worst(false)).toBeGreaterThan(4);
  });
});

describe("the split query's FP8 scores in plain loops (page 1: K by cp.async)", () => {
  // The sm_90a and the other path of a build's code (the text of each #if branch, in order).
  const paths = (code: string) => {
    const hopper: string[] = [];
    const other: string[] = [];
    for (const m of code.matchAll(/#if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n([^]*?)\n\s*#else\n([^]*?)\n\s*#endif/g)) {
      hopper.push(m[1]);
      other.push(m[2]);
    }
    return { hopper: hopper.join("\n"), other: other.join("\n") };
  };
  const kCopies = (code: string) => [...code.matchAll(/cp_async16\(smem \+ (\d+) \+ ([^,]+), k_cache/g)].map((m) => ({ at: Number(m[1]), dst: m[2] }));

  for (const name of ["gqa_paged_fp8.bf16.g4.p1", "gqa_paged_fp8.f16.g1.p1", "swa_paged_fp8.bf16.p1"]) {
    it(`${name}: every loop's scores read K's bytes on sm_90a; K lands swizzled; only the other path widens it`, () => {
      const k = cudaKernel(name.startsWith("swa") ? ["kernels-src/sliding_window.ts"] : ["kernels-src/gqa.ts"], name, { wgmma: true, blocksPerSm: 3 });
      const { hopper, other } = paths(k.code);
      const loops = k.code.match(/\n {2}for \(int t_\d+ = /g)!.length;
      // The query split before each loop, each later one behind a barrier (the loops share the tiles).
      expect(k.code.match(/split into two E4M3 tiles \(hi at 49152, lo at 57344\)/g)?.length).toBe(loops);
      expect(k.code.match(/__syncthreads\(\); \/\/ every warp is done with the last loop's split query tiles/g)?.length).toBe(loops - 1);
      // Its tiles past the 49152 bytes the kernel had: three blocks an SM still.
      expect(k.target.sharedBytes).toBe(65536);
      expect(k.code).toContain("__launch_bounds__(128, 3)");
      // sm_90a: FP8 scores, K never widened; the other path keeps the 16-bit dot on the widened K.
      expect(hopper.match(/wgmma_m64n64k32_ss_e4m3\(t_/g)?.length).toBe(loops);
      expect(hopper).not.toMatch(/wgmma_m64n64k16_ss_(bf16|f16)<0>/);
      expect(hopper.match(/is not widened: the scores read K_\d+'s E4M3 bytes/g)?.length).toBe(loops);
      expect(other.match(/fp8x8_widen<(true|false)>\(smem \+ 32768 \+ sw128\(r, c, 64\), \*reinterpret_cast<const uint2\*>\(smem \+ 16384 \+ \(r\) \* 128 \+ /g)?.length).toBe(loops);
      // Every copy of K lands 128-byte swizzled (none in dense rows).
      const copies = kCopies(k.code);
      expect(copies.length).toBeGreaterThanOrEqual(loops);
      for (const c of copies) expect(c.dst).toBe("(r) * 128 + ((((c) >> 4) ^ ((r) & 7)) << 4) + ((c) & 15)");
      // The scores' scale a row on both paths: the split's factors, or the scale itself on sm_80.
      const scales = [...other.matchAll(/const float t_\d+_rows\[2\] = \{(\w+), \1\};/g)].map((m) => m[1]);
      expect(scales.length).toBe(loops);
      for (const scale of new Set(scales)) expect(k.code).not.toMatch(new RegExp(`\\* ${scale}\\)`));
      expect(k.code.match(/\* t_\d+_rows\[mt \* 2 \+ h\]\)/g)?.length).toBe(loops);
    });
  }

  it("K's bytes land where wgmma's 128-byte swizzle reads them: the layout of a 16-bit tile's 64-column block, byte for byte", () => {
    const code = build("gqa_paged_fp8.bf16.g4.p1").code;
    const dst = kCopies(code)[0].dst;
    // sw128 (the 16-bit tiles' layout, emitted in every swizzled kernel): element col of a row at byte col * 2.
    const sw128 = (row: number, col: number) => row * 128 + ((((col >> 3) & 7) ^ (row & 7)) << 4) + (col & 7) * 2;
    const seen = new Set<number>();
    for (let r = 0; r < 64; r++) {
      for (let c = 0; c < 128; c += 16) {
        const at = evalC(dst, { r, c });
        expect(at, `row ${r}, byte ${c}`).toBe(sw128(r, c / 2));
        seen.add(at);
      }
    }
    expect(seen.size).toBe(64 * 8);
  });

  it("off (the build's fallback level), the plain loops widen K from dense rows, in 49152 bytes", () => {
    const k = build("gqa_paged_fp8.bf16.g4.p1", false);
    expect(k.code).not.toContain("e4m3x4");
    expect(k.target.sharedBytes).toBe(49152);
    for (const c of kCopies(k.code)) expect(c.dst).toBe("r * 128 + c");
  });

  it("takes no plain loop where its tiles would cost a block an SM (page 16's masked loops, beside the overlapped one)", () => {
    const k = build("gqa_paged_fp8.bf16.g4.p16");
    const { rest } = sections(k.code);
    expect(rest).not.toMatch(/wgmma_m64n64k32_ss_e4m3\(t_/);
    expect(k.code.match(/split into two E4M3 tiles/g)?.length).toBe(1);
  });
});
