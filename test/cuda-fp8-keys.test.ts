// E4M3 keys read straight into mma.sync B fragments (fp8-keys.ts), from the CUDA C the compiler
// writes, no GPU: which kernels take the path, and that the query's reordered columns meet the
// key bytes each lane reads, slot for slot. The emitted index expressions are evaluated as
// written; the fragment layouts are PTX's for mma.m16n8k16 (A: a0/a1 hold k slots 2t4, 2t4+1 of
// rows g, g+8 and a2/a3 slots 2t4+8, 2t4+9; B: b0 holds k slots 2t4, 2t4+1 of column g, b1 slots
// 2t4+8, 2t4+9) and ldmatrix's (A column 16kk + s is k slot s of step kk).
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC } from "./harness/cuda-source.ts";

const cudaOf = (file: string, name: string, arch?: string) => cudaKernel([file], name, arch ? { arch } : {}).code;

describe("E4M3 keys widened in registers", () => {
  const code = cudaOf("kernels-src/decode_split.ts", "gqa_decode_split_fp8.bf16.g4.p16");

  it("reads the split decode's keys from their E4M3 copy: no widening pass for them", () => {
    expect(code.match(/keys read as E4M3 and widened in registers/g)?.length).toBe(3); // head, whole and tail tiles
    expect(code).not.toMatch(/fp8 widened to/);
    // The query's columns are reordered once, after it lands and before the first key loop.
    const at = code.indexOf("columns reordered within each 32-column block");
    expect(code.match(/columns reordered within each 32-column block/g)?.length).toBe(1);
    expect(at).toBeGreaterThan(code.indexOf("has arrived"));
    expect(at).toBeLessThan(code.indexOf("for (int t_"));
  });

  it("waits for V's E4M3 copy right before P·V reads it, after the softmax, leaving the next keys in flight", () => {
    // wait_group 1 (the next tile's keys, issued after the scores, stay in flight), then the
    // barrier that publishes the copy, then P·V's byte reads (fp8-values.ts).
    const wait = /cp_async_wait<1>\(\); \/\/ V_\d+ has arrived\n\s*__syncthreads\(\);\n/g;
    expect(code.match(wait)?.length).toBe(3);
    for (const rest of code.split("its next tile can stream in").slice(1)) {
      const at = rest.search(wait);
      expect(rest.indexOf("// kernels-src/lib/softmax.ts:20:")).toBeLessThan(at);
      expect(at).toBeLessThan(rest.indexOf("values read as E4M3 and widened in registers"));
      expect(rest.slice(0, at)).not.toMatch(/cp_async_wait<0>/);
    }
  });

  it("pairs every k slot of the query with the key byte of the same dim", () => {
    // The reordering's declarations (q, s2, src from wd), run in order as written.
    const decl = /const int (q = [^;]*src = [^;]+);/.exec(code)![1].replace(/(\w+|\([^()]*\)) \/ (\d+)/g, "Math.trunc($1 / $2)");
    const srcOf = new Function("wd", `let ${decl}; return src;`) as (wd: number) => number;
    const read = /const uint2 w = \*reinterpret_cast<const uint2\*>\(smem \+ (\d+) \+ \(nt \* 8 \+ g\) \* (\d+) \+ ([^)]+)\);/.exec(code)!;
    const [, , , dimExpr] = read;
    // b0..b3 are w.x low, w.x high, w.y low, w.y high; (b0, b1) feed step 2j, (b2, b3) step 2j + 1.
    expect(code).toContain("const uint32_t b0 = e4m3x2_widen<true>(w.x, 0), b1 = e4m3x2_widen<true>(w.x, 1), b2 = e4m3x2_widen<true>(w.y, 0), b3 = e4m3x2_widen<true>(w.y, 1);");
    expect(code).toMatch(/mma_bf16\(&t_\d+\[\(mt \* 4 \+ nt\) \* 4\], a\[0\]\[mt\], b0, b1\);\n\s*mma_bf16\(&t_\d+\[\(mt \* 4 \+ nt\) \* 4\], a\[1\]\[mt\], b2, b3\);/);
    expect(code).toMatch(/ldsm_x4\(a\[0\]\[mt\], [^;]*\(\(2 \* j \+ 0\) \* 16/);
    // Query column c of the reordered tile holds original column origin(c).
    const origin = (c: number) => srcOf(c >> 1) + (c & 1);
    for (let block = 0; block < 4; block++) {
      const cols = Array.from({ length: 32 }, (_, i) => origin(32 * block + i));
      expect(new Set(cols).size).toBe(32); // a permutation of the block's columns
      expect(cols.every((c) => c >> 5 === block)).toBe(true);
    }
    let checked = 0;
    for (let g = 0; g < 8; g++)
      for (let t4 = 0; t4 < 4; t4++)
        for (let j = 0; j < 4; j++) {
          const base = evalC(dimExpr, { j, t4 });
          for (let q = 0; q < 2; q++)
            for (const [reg, slot0] of [[0, 2 * t4], [1, 2 * t4 + 8]])
              for (let e = 0; e < 2; e++) {
                const dim = base + 4 * q + 2 * reg + e; // byte of the key row this slot widens
                const slot = slot0 + e;
                expect(origin(16 * (2 * j + q) + slot)).toBe(dim);
                checked++;
              }
        }
    expect(checked).toBe(8 * 4 * 4 * 2 * 2 * 2);
  });

  it("leaves 16-bit caches and wgmma kernels alone", () => {
    expect(cudaOf("kernels-src/decode_split.ts", "gqa_decode_split.bf16.g4.p16")).not.toMatch(/fp8-keys/);
    const paged = cudaOf("kernels-src/gqa.ts", "gqa_paged_fp8.bf16.g4.p16");
    expect(paged).not.toMatch(/fp8-keys/);
    expect(paged).toMatch(/fp8 widened to bf16/);
  });
});
