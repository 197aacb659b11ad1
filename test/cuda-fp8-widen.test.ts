// The shared-to-shared widening of staged E4M3 tiles on Hopper (copy-emit.ts widenStaged), from
// the CUDA C the compiler writes, no GPU: the sm_90a branch reads 16 values a step in a loop of
// constant trip count and the other architectures keep the counted loop (a build for Ampere
// alone has no such pass); evaluated for every
// thread, each 16-bit element of the tile is written once from its own staged byte, and each
// quarter warp's stores fall on 8 different 16-byte bank groups. The kernels ran on an H200
// (bench/results/h200-cuda-suite-fp8-paged-widen16-2026-12-01.log: 378 of 378 cases).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC } from "./harness/cuda-source.ts";
import { sw128Of } from "./harness/wgmma-descriptors.ts";

const GQA = path.resolve("kernels-src/gqa.ts");
const code = cudaKernel([GQA], "gqa_paged_fp8.bf16.g4.p16").code;

/** The Hopper branch's widening loops: trip count, r and c, the staging and tile offsets, each store. */
const HOPPER = new RegExp(
  String.raw`#if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n\s*// (t_\d+): 64 x 128 fp8 widened to (bf16|f16), shared to shared, 16 values per step\n` +
    String.raw`\s*#pragma unroll\n\s*for \(int i = 0; i < (\d+); \+\+i\) \{\n\s*const int r = ([^,]+), c = ([^;]+);\n\s*const int s = ([^;]+);\n` +
    String.raw`\s*const uint4 w = \*reinterpret_cast<const uint4\*>\(smem \+ (\d+) \+ r \* (\d+) \+ c\);\n` +
    String.raw`\s*fp8x8_widen<(?:true|false)>\(smem \+ (\d+) \+ sw128\(r, ([^,]+), 64\), s \? make_uint2\(w\.(\w), w\.(\w)\) : make_uint2\(w\.(\w), w\.(\w)\)\);\n` +
    String.raw`\s*fp8x8_widen<(?:true|false)>\(smem \+ \d+ \+ sw128\(r, ([^,]+), 64\), s \? make_uint2\(w\.(\w), w\.(\w)\) : make_uint2\(w\.(\w), w\.(\w)\)\);\n` +
    String.raw`\s*\}\n\s*#else\n\s*// t_\d+: 64 x 128 fp8 widened to \2, shared to shared, 8 values per step\n\s*#pragma unroll\n\s*for \(int e = tid; e < 1024; e \+= 128\) \{`,
  "g",
);

const loops = [...code.matchAll(HOPPER)];
const sw128 = sw128Of(code);
/** Byte offsets of a uint4's words (the staged bytes each holds). */
const WORD = { x: 0, y: 4, z: 8, w: 12 } as Record<string, number>;

interface Store {
  tid: number;
  at: number; // byte offset in the 16-bit tile
  row: number;
  col: number; // the tile's column the 8 values start at
  from: number; // the staged byte the 8 values start at
}

/** Every store of loop m, in program order per thread and step: [step][0 | 1][tid]. */
function stores(m: RegExpMatchArray, forceS?: number): Store[][][] {
  const [trips, rExpr, cExpr, sExpr, , stride] = [Number(m[3]), m[4], m[5], m[6], m[7], Number(m[8])];
  const halves = [
    { col: m[10], hi: [m[11], m[12]], lo: [m[13], m[14]] },
    { col: m[15], hi: [m[16], m[17]], lo: [m[18], m[19]] },
  ];
  return Array.from({ length: trips }, (_, i) =>
    halves.map((h) =>
      Array.from({ length: 128 }, (_, tid) => {
        const r = evalC(rExpr, { tid, i });
        const c = evalC(cExpr, { tid, i });
        const s = forceS ?? evalC(sExpr, { c });
        const col = evalC(h.col, { c, s });
        const [a, b] = s ? h.hi : h.lo;
        expect(WORD[b] - WORD[a]).toBe(4);
        return { tid, row: r, col, at: sw128(r, col, 64), from: r * stride + c + WORD[a] };
      }),
    ),
  );
}

describe("E4M3 tiles widened shared to shared on Hopper", () => {
  it("gqa_paged_fp8 widens K (to bf16) and V (to f16, its PV) 16 values a step on sm_90a, in the counted loop elsewhere", () => {
    // Three copies of the loop body (first, whole and last tiles), K and V each.
    expect(loops.map((m) => m[2])).toEqual(["bf16", "f16", "bf16", "f16", "bf16", "f16"]);
    for (const m of loops) expect(Number(m[3])).toBe(4); // 64 x 128 values / (16 x 128 threads)
    expect(code).toContain("PV = f16");
    expect(code).toMatch(/wgmma_m64n128k16_rs_f16<1>/);
  });

  it("writes each element of the tile once, from the staged byte of its own row and column", () => {
    for (const m of loops) {
      const stride = Number(m[8]);
      const seen = new Map<number, number>();
      for (const step of stores(m)) {
        for (const s of step.flat()) {
          // 8 values: 16 bytes at the element's swizzled place, 8 staged bytes at its column.
          expect(s.from).toBe(s.row * stride + s.col);
          for (let k = 0; k < 8; k++) {
            const at = sw128(s.row, s.col + k, 64);
            expect(at).toBe(s.at + 2 * k);
            seen.set(at, (seen.get(at) ?? 0) + 1);
          }
        }
      }
      expect(seen.size).toBe(64 * 128);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    }
  });

  it("stores a quarter warp's 16-byte chunks into 8 different bank groups (two to a group without the odd blocks' order)", () => {
    const groups = (m: RegExpMatchArray, forceS?: number) =>
      stores(m, forceS).flatMap((step) => step.flatMap((threads) => Array.from({ length: 16 }, (_, q) => new Set(threads.slice(8 * q, 8 * q + 8).map((s) => (s.at / 16) % 8)).size)));
    for (const m of loops) {
      expect(groups(m).every((n) => n === 8)).toBe(true);
      expect(groups(m, 0).every((n) => n === 4)).toBe(true);
    }
  });

  it("keeps the counted loop for the other architectures; a build for Ampere alone widens in registers instead", () => {
    expect(code.match(/for \(int e = tid; e < 1024; e \+= 128\) \{/g)?.length).toBe(6);
    const sm80 = cudaKernel([GQA], "gqa_paged_fp8.bf16.g4.p16", { arch: "sm_80" }).code;
    expect(sm80).not.toMatch(/shared to shared|fp8x8_widen<(true|false)>\(smem/);
    expect(sm80.match(/keys read as E4M3 and widened in registers/g)?.length).toBe(3);
  });
});
