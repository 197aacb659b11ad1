// Wide output tiles staged through shared memory (store-stage.ts), from the CUDA C the compiler
// writes, no GPU: which stores are staged, that the threads' pair writes fill the padded tile once
// each, and that the copy phase sends every 16-byte chunk of a row to the address and under the
// predicate the spec gives that row (evaluated as written, for every row, against the spec's
// token = qi / heads, head = qi % heads, tok < q_len).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stagedStores } from "../compiler/backends/cuda/store-stage.ts";
import { storeShape } from "../compiler/backends/cuda/tile-emit.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { cudaKernel, evalC, mlaRowCases } from "./harness/cuda-source.ts";

const MLA = path.resolve("kernels-src/mla.ts");
const SPLIT = path.resolve("kernels-src/decode_split.ts");

function irOf(file: string, name: string) {
  const diags = new Diagnostics();
  return compileAll([file], diags, { target: "cuda" }).find((k) => k.name === name)!;
}

describe("which stores are staged", () => {
  it("MLA's 64 x 512 outputs, after the key loop; not where the pool is too small or the tile narrow", () => {
    const paged = stagedStores(irOf(MLA, "mla_paged.bf16.p64").body, storeShape, 204800);
    expect([...paged.entries()].map(([s, st]) => [s.tensor.name, st])).toEqual([["out", { ld: 520, elem: 2, chunks: 64 }]]);
    const split = stagedStores(irOf(SPLIT, "mla_decode_split.bf16.p64").body, storeShape, 204800);
    expect([...split.entries()].map(([s, st]) => [s.tensor.name, st])).toEqual([["out_partial", { ld: 520, elem: 4, chunks: 128 }]]);
    // The f32 tile (64 x 520 x 4 bytes) must fit the pool it reuses.
    expect(stagedStores(irOf(SPLIT, "mla_decode_split.bf16.p64").body, storeShape, 133119).size).toBe(0);
    // Prefill's 64 x 128 output (16 KiB) keeps its direct stores.
    expect(stagedStores(irOf(path.resolve("kernels-src/mha.ts"), "mha_prefill.bf16.hd128.causal").body, storeShape, 1 << 20).size).toBe(0);
  });
});

describe("the CUDA C of a staged store", () => {
  const code = cudaKernel([MLA], "mla_paged.bf16.p64", { wgmma: true }).code;
  const at = code.indexOf("// out: staged in shared memory (64 rows of 520)");
  const section = code.slice(at, code.indexOf("// kernels-src/", at));

  it("barriers around the pair writes; the copy takes 16-byte chunks of whole rows", () => {
    expect(at).toBeGreaterThan(0);
    const lines = section.split("\n").map((l) => l.trim());
    expect(lines[1]).toMatch(/^__syncthreads\(\);/);
    expect(lines.filter((l) => l.startsWith("__syncthreads();"))).toHaveLength(2);
    expect(section).toContain("for (int i = tid; i < 4096; i += 256) {");
    expect(section).toContain("const int r = i / 64, c = (i % 64) * 8;");
  });

  it("each thread's pairs land on distinct slots that together fill the 64 x 512 tile", () => {
    const w = section.match(/\*reinterpret_cast<__nv_bfloat162\*>\(smem \+ \((.*) \* 520 \+ (\(wcol \* 256 \+ nt \* 8 \+ 2 \* t4 \+ 0\))\) \* 2\)/);
    expect(w, section).not.toBeNull();
    const [, row, col] = w!;
    const seen = new Set<number>();
    for (let wcol = 0; wcol < 2; wcol++)
      for (let warp = 0; warp < 4; warp++)
        for (let g = 0; g < 8; g++)
          for (let t4 = 0; t4 < 4; t4++)
            for (let h = 0; h < 2; h++)
              for (let nt = 0; nt < 32; nt++) {
                const v = { wcol, warp, g, t4, h, nt, mt: 0 };
                const r = evalC(row, v);
                const c = evalC(col, v);
                expect(c % 2).toBe(0);
                seen.add(r * 520 + c);
              }
    const want = new Set<number>();
    for (let r = 0; r < 64; r++) for (let c = 0; c < 512; c += 2) want.add(r * 520 + c);
    expect(seen).toEqual(want);
  });

  it("each chunk goes to its row's token and head, where the row is a query of the request", () => {
    const copy = section.match(/if \((.*)\) \*reinterpret_cast<uint4\*>\(out \+ \(long long\)\((.*)\) \* out_s0 \+ \(long long\)\((.*)\) \* out_s1 \+ \(long long\)\(c\)\) = \*reinterpret_cast<const uint4\*>\(smem \+ \(r \* 520 \+ c\) \* 2\);/);
    expect(copy, section).not.toBeNull();
    const [, valid, token, head] = copy!;
    const start = head.match(/\((t_\d+) \+ r\)/)![1];
    const { q0, qLen, cases } = mlaRowCases(code);
    let checked = 0;
    for (const { heads, mTile, qLenV } of cases)
      for (let r = 0; r < 64; r++) {
        const qi = mTile * 64 + r;
        const vars = { r, heads, [start]: mTile * 64, [q0]: 1000, [qLen]: qLenV };
        const ev = (e: string) => evalC(e.replace(/P\.heads/g, "heads"), vars);
        const tok = Math.trunc(qi / heads);
        expect(Boolean(ev(valid)), `heads ${heads} qi ${qi}`).toBe(tok < qLenV);
        if (tok < qLenV) {
          expect(ev(token)).toBe(1000 + tok);
          expect(ev(head)).toBe(qi % heads);
        }
        checked++;
      }
    expect(checked).toBe(27 * 64);
  });
});
