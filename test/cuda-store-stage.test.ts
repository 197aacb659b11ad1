// Wide output tiles staged through shared memory (store-stage.ts), from the CUDA C the compiler
// writes, no GPU: which stores are staged, that the threads' pair writes fill the padded tile once
// each, and that the copy phase sends every 16-byte chunk of a row to the address and under the
// predicate the spec gives that row (evaluated as written, for every row, against the spec's
// token = qi / heads, head = qi % heads, tok < q_len).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { STAGE_MIN_BYTES, WS_STAGE_MIN_BYTES, stagedStores } from "../compiler/backends/cuda/store-stage.ts";
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
    expect([...paged.entries()].map(([s, st]) => [s.tensor.name, st])).toEqual([["out", { ld: 520, elem: 2, chunks: 64, swizzled: false }]]);
    const split = stagedStores(irOf(SPLIT, "mla_decode_split.bf16.p64").body, storeShape, 204800);
    expect([...split.entries()].map(([s, st]) => [s.tensor.name, st])).toEqual([["out_partial", { ld: 520, elem: 4, chunks: 128, swizzled: false }]]);
    // The f32 tile must fit the pool it reuses: padded (64 x 520 x 4 bytes), else swizzled (64 x 512 x 4).
    expect([...stagedStores(irOf(SPLIT, "mla_decode_split.bf16.p64").body, storeShape, 133119).values()]).toEqual([{ ld: 512, elem: 4, chunks: 128, swizzled: true }]);
    expect(stagedStores(irOf(SPLIT, "mla_decode_split.bf16.p64").body, storeShape, 131071).size).toBe(0);
    // Prefill's 128 x 128 output (32 KiB) keeps its direct stores under the one-warpgroup minimum.
    expect(stagedStores(irOf(path.resolve("kernels-src/mha.ts"), "mha_prefill.bf16.hd128.causal").body, storeShape, 1 << 20).size).toBe(0);
  });

  it("a warp-specialized block's 128-row outputs from 32 KiB: padded where the pool has room, else swizzled in the query tile's bytes", () => {
    const MHA = path.resolve("kernels-src/mha.ts");
    const staged = (name: string, pool: number) => [...stagedStores(irOf(MHA, name).body, storeShape, pool, WS_STAGE_MIN_BYTES).values()];
    expect(staged("mha_prefill.bf16.hd128.causal", 1 << 20)).toEqual([{ ld: 136, elem: 2, chunks: 16, swizzled: false }]);
    // The pool a warp-specialized block has: its query tile, 128 x 128 x 2 bytes.
    expect(staged("mha_prefill.bf16.hd128.causal", 32768)).toEqual([{ ld: 128, elem: 2, chunks: 16, swizzled: true }]);
    expect(staged("mha_prefill.f16.hd256.nocausal", 65536)).toEqual([{ ld: 256, elem: 2, chunks: 32, swizzled: true }]);
    expect(staged("mha_prefill.bf16.hd128.causal", 32767)).toEqual([]);
    expect(stagedStores(irOf(MHA, "mha_prefill.bf16.hd128.causal").body, storeShape, 32768, STAGE_MIN_BYTES).size).toBe(0);
  });
});

describe("the CUDA C of a swizzled staged store (a warp-specialized block)", () => {
  const code = cudaKernel([path.resolve("kernels-src/mha.ts")], "mha_prefill.bf16.hd128.causal", { sm90Only: true }).code;
  const at = code.indexOf("// out: staged in shared memory (128 rows of 128, 16-byte chunks swizzled by row)");
  const section = code.slice(at, code.indexOf("// kernels-src/", at));
  const write = section.match(/\*reinterpret_cast<__nv_bfloat162\*>\(smem \+ (.*)\) = __floats2bfloat162_rn/);
  const read = section.match(/= \*reinterpret_cast<const uint4\*>\(smem \+ (.*)\);/);
  /** Byte offset, row and column of each pair a consumer thread writes, per warp store (warp, h, nt). */
  const pairs = () => {
    const out: { warp: number; h: number; nt: number; lane: number; row: number; col: number; byte: number }[] = [];
    for (let warp = 0; warp < 8; warp++)
      for (let h = 0; h < 2; h++)
        for (let nt = 0; nt < 16; nt++)
          for (let g = 0; g < 8; g++)
            for (let t4 = 0; t4 < 4; t4++) {
              const v = { warp, mt: 0, h, nt, g, t4 };
              out.push({ warp, h, nt, lane: g * 4 + t4, row: warp * 16 + g + 8 * h, col: nt * 8 + 2 * t4, byte: evalC(write![1], v) });
            }
    return out;
  };

  it("the consumers' barriers around the pair writes (the producer never meets them)", () => {
    expect(at).toBeGreaterThan(0);
    expect(write, section).not.toBeNull();
    expect(read, section).not.toBeNull();
    expect(section).not.toContain("__syncthreads()");
    expect(section.match(/consumers_sync\(\);/g)).toHaveLength(2);
    expect(section).toContain("for (int i = tid; i < 2048; i += 256) {");
  });

  it("the pairs fill the 32 KiB once; each chunk is read from where its row's pairs were written", () => {
    const ps = pairs();
    expect(new Set(ps.map((p) => p.byte)).size).toBe(128 * 64);
    for (const p of ps) {
      expect(p.byte % 4).toBe(0);
      expect(p.byte).toBeLessThan(32768);
    }
    // The copy's chunk i: row i / 16, columns (i % 16) * 8 .. + 7, read at one 16-byte offset.
    const byElement = new Map(ps.map((p) => [p.row * 128 + p.col, p.byte]));
    for (let i = 0; i < 2048; i++) {
      const r = Math.trunc(i / 16);
      const from = evalC(read![1], { i, r });
      for (let k = 0; k < 8; k += 2) expect(byElement.get(r * 128 + (i % 16) * 8 + k), `chunk ${i}`).toBe(from + 2 * k);
    }
  });

  it("no bank conflicts: a warp's pair writes hit 32 banks, an 8-lane phase of chunk reads 8 distinct 16-byte bank groups", () => {
    const ps = pairs();
    const groups = new Map<string, number[]>();
    for (const p of ps) groups.set(`${p.warp} ${p.h} ${p.nt}`, [...(groups.get(`${p.warp} ${p.h} ${p.nt}`) ?? []), (p.byte >> 2) % 32]);
    expect(groups.size).toBe(8 * 2 * 16);
    for (const [k, banks] of groups) expect(new Set(banks).size, k).toBe(32);
    for (let i0 = 0; i0 < 2048; i0 += 8) {
      const quads = Array.from({ length: 8 }, (_, j) => (evalC(read![1], { i: i0 + j, r: Math.trunc((i0 + j) / 16) }) >> 4) % 8);
      expect(new Set(quads).size, `lanes ${i0}..`).toBe(8);
    }
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
