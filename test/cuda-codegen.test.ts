// The CUDA backend's layout decisions, read from the CUDA C it emits (no nvcc, no GPU): the warps
// that split a wide accumulator's columns (MLA's 512 latent columns), the k-split of the scores
// dot across those warps, the double-buffered latent tile, and the error for a layout the column
// split cannot hold. cuda-build.test.ts compiles what ships; the CUDA suite runs it on a GPU.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileCudaKernels } from "../compiler/generate.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { walkInsts } from "../compiler/ir/ir.ts";
import { cudaKernel, gqaOneWarpgroup, mhaOneWarpgroup } from "./harness/cuda-source.ts";

// These pin the mma.sync plan and padded tiles: what kernels without wgmma dots get, and what
// `--no-cuda-wgmma` gives every kernel (cuda-wgmma.test.ts covers the default).
// mha_prefill's and gqa_paged's tiles as they were before their Hopper builds took 128 rows
// (warp-specialize.ts).
const ONE = { "mha.ts": mhaOneWarpgroup(), "gqa.ts": gqaOneWarpgroup() };
const cudaOf = (files: string[], name: string, sources?: Map<string, string>) => {
  const one = Object.entries(ONE).find(([f]) => files[0].endsWith(f))?.[1];
  return one && !sources ? cudaKernel([one.file], name, { wgmma: false }, one.sources) : cudaKernel(files, name, { wgmma: false }, sources);
};

describe("CUDA layout for MLA: column-split warps", () => {
  // 32-key tiles, as the spec took before the leader schedule (64-key tiles, wgmma only).
  const file = path.resolve("kernels-src/mla.ts");
  const src = fs.readFileSync(file, "utf8").replace(/BLOCK_M = 64, BLOCK_N = 64 \/\/[^\n]*/, "BLOCK_M = 64, BLOCK_N = 32");
  const k = cudaOf([file], "mla_paged.bf16.p16", new Map([[file, src]]));
  const code = k.code;

  it("runs 8 warps: 4 along the 64 rows, 2 column groups of the 512-wide output", () => {
    expect(k.target.blockDim).toEqual([256, 1, 1]);
    expect(code).toContain("4 warps x 1 row tile(s) of 16, x 2 column groups splitting the 512-wide tiles");
    expect(code).toContain("const int warp = (tid >> 5) % 4, wcol = (tid >> 5) / 4,");
    // One block of 256 threads per SM, so ptxas may use 255 registers a thread.
    expect(code).toContain("__launch_bounds__(256, 1)");
  });

  it("holds 128 accumulator registers a thread (16 rows x 256 columns), not 256", () => {
    const acc = [...code.matchAll(/float (carry_\d+)\[(\d+)\];/g)].map((m) => Number(m[2]));
    expect(Math.max(...acc)).toBe(128);
    // P·C reads the group's 256 columns of the latent tile; the output store writes them.
    expect(code).toMatch(/ldsm_x4_trans\(b, smem \+ \(\d+ \+ \(t_\d+ & 1\) \* 33280\) \+ .*\(wcol \* 256 \+ nt \* 8/);
    expect(code).toMatch(/smem \+ \(.* \* 520 \+ \(wcol \* 256 \+ nt \* 8 \+ 2 \* t4 \+ 0\)\) \* 2\) = __floats2bfloat162_rn/);
  });

  it("splits the 512-long scores dot by k across the groups and adds the parts in shared memory", () => {
    expect(code).toContain("for (int kq = 0; kq < 16; ++kq) {");
    expect(code).toContain("const int kk = wcol * 16 + kq;");
    // Each group's 16 partial sums go out as four float4s...
    expect(code).toMatch(/reinterpret_cast<float4\*>\(smem \+ (\d+)\)\[\(wcol \* 4 \+ x\) \* 128 \+ \(tid % 128\)\] = make_float4\(t_(\d+)\[4 \* x \+ 0\], t_\2\[4 \* x \+ 1\], t_\2\[4 \* x \+ 2\], t_\2\[4 \* x \+ 3\]\);/);
    // ...and each adds the other group's to its own (a + b is b + a: the same bits in both).
    expect(code).toMatch(/const float4 o = reinterpret_cast<float4\*>\(smem \+ \d+\)\[\(\(1 - wcol\) \* 4 \+ x\) \* 128 \+ \(tid % 128\)\];\n\s+t_(\d+)\[4 \* x \+ 0\] = t_\1\[4 \* x \+ 0\] \+ o\.x; t_\1\[4 \* x \+ 1\] = t_\1\[4 \* x \+ 1\] \+ o\.y;/);
    // The rope dot (k = 64) is too short to split: it accumulates onto the summed scores.
    expect(code).toMatch(/mma_bf16\(&t_(\d+)\[\(mt \* 4 \+ nt\) \* 4\], a\[mt\], b\[0\], b\[1\]\);[\s\S]*for \(int kk = 0; kk < 4; \+\+kk\)[\s\S]*mma_bf16\(&t_\1\[/);
    // The exchange buffer lies past the operand tiles.
    const at = Number(code.match(/smem \+ (\d+)\)\[\(wcol \* 4/)![1]);
    expect(at + 2 * 16 * 128 * 4).toBe(k.target.sharedBytes);
  });

  it("double-buffers the latent tile: the next one streams in while this one is used", () => {
    // The copy of tile i + 1 goes to buffer (i + 1) & 1, right after the barrier at the top.
    expect(code).toMatch(/__syncthreads\(\); \/\/ every warp is done with the other buffer of C_\d+\n(\s+)if \((t_\d+) \+ 1 < t_\d+\) \{[\s\S]*?cp_async16\(smem \+ \(\d+ \+ \(\(\2 \+ 1\) & 1\) \* 33280\)/);
    // The loop body never waits for the copy it has just started before using its own tile.
    const body = code.slice(code.indexOf("// full tiles"));
    const top = body.indexOf("every warp is done with the other buffer");
    const firstDot = body.indexOf("mma_bf16", top);
    expect(body.slice(top, firstDot)).not.toContain("cp_async_wait<0>");
  });
});

describe("CUDA layout errors", () => {
  it("a column-split tile cannot be reduced along its rows", async () => {
    const path = "test/virtual/wide-rowmax.ts";
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel wide<T: dtype = bf16>
  target cuda: T in [bf16]
(x: T[n, 32], y: T[32, 512], out: f32[n]) grid (m in tiles(n, 64)) {
  let r = rows(m, 64)
  let X = load x[r, :] where r < n
  let Y = load y[rows(0, 32), :]
  let O = dot(X, Y)
  store out[r] = rowmax(O) where r < n
}
\`;
`;
    const diags = new Diagnostics();
    await compileCudaKernels([path], diags, { sources: new Map([[`${process.cwd()}/${path}`, src]]) });
    const text = formatDiagnostics(diags.list);
    expect(text).toContain(`${path}:11:18: error: wide.bf16 (CUDA): a f32[64, 512] tile is split over 2 groups of warps by columns and cannot be reduced along its rows`);
  });
});

describe("CUDA prefill: the instructions spent per key", () => {
  const full = cudaOf(["kernels-src/mha.ts"], "mha_prefill.bf16.hd128.nocausal").code;

  it("packs P to bf16 with one rounding, not a round trip through bf16 and back first", () => {
    expect(full).toMatch(/a\[mt\]\[0\] = pack_bf16\(p_\d+\[/);
    expect(full).not.toMatch(/pack_bf16\(__bfloat162float/);
  });

  it("computes exp2 with one ex2.approx.ftz, not exp2f's denormal-preserving sequence", () => {
    expect(full).toContain('asm("ex2.approx.ftz.f32 %0, %1;"');
    expect(full).toMatch(/= exp2_ftz\(\(S_\d+\[/);
    expect(full).not.toMatch(/[=(] ?exp2f\(/);
  });

  it("computes softcap's tanh with one tanh.approx, and divides by the cap through one reciprocal a block", () => {
    const capped = cudaOf(["kernels-src/softcap.ts"], "softcap_paged.bf16.p16").code;
    expect(capped).toContain('asm("tanh.approx.f32 %0, %1;"');
    expect(capped).not.toContain("tanhf(");
    const rcp = /const float (t_\d+) = \(1\.0f \/ t_\d+\);/.exec(capped);
    expect(rcp, "the cap's reciprocal").not.toBeNull();
    // Before the key loop, and each score multiplied by it.
    expect(rcp!.index).toBeLessThan(capped.indexOf("for (int t_"));
    expect(capped).toMatch(new RegExp(`tanh_approx\\(\\(s_\\d+\\[[^\\]]+\\] \\* ${rcp![1]}\\)\\)`));
    // Kernels without a tanh carry no helper for it.
    expect(full).not.toContain("tanh_approx");
  });

  it("copies a tile with each thread on one column, stepping down the rows", () => {
    // 64 x 128 bf16: 16 chunks of 8 per row, 128 threads: 8 rows per step.
    expect(full).toContain("for (int r = tid / 16, c = (tid % 16) * 8; r < 64; r += 8) {");
    expect(full).not.toContain("for (int e = tid; e < 1024; e += 128)");
  });

  it("runs the ragged last key tile as a branch, and the causal diagonal as a loop", () => {
    expect(full.match(/if \(\w+ < t_\d+\) \{ \/\/ at most one tile/g)).toHaveLength(2);
    const causal = cudaOf(["kernels-src/mha.ts"], "mha_prefill.bf16.hd128.causal").code;
    expect(causal).not.toContain("at most one tile");
    // Both partial segments and the full one stay loops over key tiles.
    expect(causal.match(/\/\/ partial tiles/g)).toHaveLength(2);
    expect(causal.match(/for \(int t_\d+ = \w+; t_\d+ < t_\d+; \+\+t_\d+\)/g)).toHaveLength(3);
  });
});

describe("mask analysis: segments proved to hold at most one tile", () => {
  const trips = (file: string, name: string) => {
    const diags = new Diagnostics();
    const ir = compileAll([file], diags, { target: "cuda" }).find((k) => k.name === name)!;
    expect(formatDiagnostics(diags.list)).toBe("");
    const out: (number | undefined)[] = [];
    walkInsts(ir.body, (i) => {
      if (i.kind === "for" && i.status === "partial") out.push(i.maxTrips);
    });
    return out;
  };

  it("`cols(n, B) < k_len` leaves at most one partial tile at the end (and none at the start)", () => {
    expect(trips("kernels-src/mha.ts", "mha_prefill.bf16.hd128.nocausal")).toEqual([1, 1]);
  });

  it("proves nothing where the bound runs over a range of rows (causal diagonal, window edge) or is a run-time choice", () => {
    expect(trips("kernels-src/gqa.ts", "gqa_paged.bf16.g4.p16")).toEqual([undefined, undefined]);
    expect(trips("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal")).toEqual([undefined, undefined]);
    expect(trips("kernels-src/sliding_window.ts", "swa_paged.bf16.p16").every((t) => t === undefined)).toBe(true);
  });
});

describe("CUDA plan: warps along the rows before column groups", () => {
  it("gives 128 rows at head dim 256 eight warps of 16 rows (a 128-register accumulator each)", () => {
    const file = ONE["mha.ts"].file;
    const src = ONE["mha.ts"].sources.get(file)!.replace("BLOCK_M = 64, BLOCK_N", "BLOCK_M = 128, BLOCK_N");
    expect(src).toContain("BLOCK_M = 128, BLOCK_N");
    const k = cudaOf([file], "mha_prefill.bf16.hd256.nocausal", new Map([[file, src]]));
    expect(k.target.blockDim).toEqual([256, 1, 1]);
    expect(k.code).toContain("256 threads (8 warps x 1 row tile(s) of 16");
    expect(k.code).not.toContain("column groups");
    const acc = [...k.code.matchAll(/float (carry_\d+)\[(\d+)\];/g)].map((m) => Number(m[2]));
    expect(Math.max(...acc)).toBe(128);
  });
});

describe("CUDA plan: whole 16-row tiles a warp", () => {
  // 192 and 96 rows are not 16 times a power of two: the warps along the rows must divide the
  // row tiles (a plan once gave 192 rows 8 warps of 1.5 tiles each).
  const file = ONE["mha.ts"].file;
  const withRows = (rows: number) => new Map([[file, ONE["mha.ts"].sources.get(file)!.replace("HEAD_DIM in [64, 128, 256], BLOCK_M = 64,", `HEAD_DIM in [64, 128, 256], BLOCK_M = ${rows},`)]]);
  for (const [rows, wgmma, header] of [
    [192, true, "384 threads (12 warps x 1 row tile(s) of 16"],
    [192, false, "256 threads (4 warps x 3 row tile(s) of 16, x 2 column groups splitting the 128-wide tiles"],
    [96, true, "96 threads (3 warps x 2 row tile(s) of 16"],
    [96, false, "96 threads (3 warps x 2 row tile(s) of 16"],
  ] as const) {
    it(`${rows} rows${wgmma ? " (wgmma where it fits)" : " (mma.sync)"}: ${header.slice(0, header.indexOf(" ("))}`, () => {
      const k = cudaKernel([file], "mha_prefill.bf16.hd128.nocausal", { wgmma }, withRows(rows));
      expect(k.code).toContain(header);
      // Three warpgroups run wgmma; three warps (not a warpgroup) cannot.
      expect(k.code.includes("wgmma_m64n64k16_ss_bf16<0>(")).toBe(wgmma && rows === 192);
    });
  }
});

describe("CUDA decode: one-warp blocks pipeline their copies", () => {
  const split = cudaOf(["kernels-src/decode_split.ts"], "gqa_decode_split.bf16.g4.p16");

  it("keeps 32-key K and V tiles resident together in the 21.8 KB of one 64-key tile", () => {
    expect(split.target.blockDim).toEqual([32, 1, 1]);
    // Q (16 x 128) + K and V (32 x 128 each), rows padded by 16 bytes: 4352 + 2 * 8704.
    expect(split.target.sharedBytes).toBe(4352 + 2 * 8704);
    expect(split.code).toMatch(/cp_async16\(smem \+ 4352 \+ r \* 272 \+ c \* 2, k_cache/);
    expect(split.code).toMatch(/cp_async16\(smem \+ 13056 \+ r \* 272 \+ c \* 2, v_cache/);
  });

  it("starts the next key tile's copy one iteration ahead, and waits for each tile right before its use", () => {
    expect(split.code).toMatch(/const int t_\d+_ahead = \(\(t_\d+ \+ 1\) \* 32\);/);
    expect(split.code).toMatch(/cp_async_wait<0>\(\); \/\/ K_\d+ arrived/);
    expect(split.code).not.toContain("cp_async_wait_all();\n    __syncthreads();\n    // kernels-src/lib/attend.ts:49");
    // Each loop (masked head, whole tiles, masked tail): the barrier after the scores only frees
    // K's buffer for the next tile; V, issued at the top, is waited for after the softmax, right
    // before P·V, leaving that next K in flight (wait_group 1).
    const loops = split.code.split("its next tile can stream in").slice(1);
    expect(loops.length).toBe(3);
    for (const rest of loops) {
      const vWait = rest.search(/cp_async_wait<1>\(\); \/\/ V_\d+ has arrived\n\s*__syncthreads\(\);/);
      const nextK = rest.indexOf("cp_async_commit();");
      const softmax = rest.indexOf("// kernels-src/lib/softmax.ts:20:");
      const pv = rest.indexOf("mma_bf16(&carry_");
      expect(vWait).toBeGreaterThan(nextK);
      expect(vWait).toBeGreaterThan(softmax);
      expect(vWait).toBeLessThan(pv);
      expect(rest.slice(0, vWait)).not.toMatch(/cp_async_wait<\d>\(\);/);
    }
  });

  it("gathers a tile's rows in an unrolled loop of constant trips, so the page-table reads can all be in flight (one warp: nothing else hides them)", () => {
    // 32 x 128 bf16, 16 chunks a row, 32 threads: 16 rows a thread, rows tid / 16 + 2i.
    const p1 = cudaOf(["kernels-src/decode_split.ts"], "gqa_decode_split.bf16.g4.p1").code;
    for (const code of [split.code, p1]) {
      expect(code).toMatch(/#pragma unroll\n\s+for \(int i = 0; i < 16; \+\+i\) \{\n\s+const int r = tid \/ 16 \+ i \* 2, c = \(tid % 16\) \* 8;\n[^]*?page_table\[[^]*?cp_async16\(smem \+ 4352 \+ r \* 272 \+ c \* 2, k_cache/);
      expect(code).not.toMatch(/for \(int r = tid \/ 16, c = \(tid % 16\) \* 8; r < 32; r \+= 2\)/);
    }
    // Q (no table) keeps the stepping loop; so do the 4-warp blocks' gathers from pages of
    // several rows (the unrolled form cost them registers: 18 prefill builds fell back to 2
    // blocks an SM).
    expect(split.code).toContain("for (int r = tid / 16, c = (tid % 16) * 8; r < 16; r += 2) {");
    const prefill = cudaOf(["kernels-src/gqa.ts"], "gqa_paged.bf16.g4.p16").code;
    expect(prefill).toMatch(/for \(int r = tid \/ 16, c = \(tid % 16\) \* 8; r < \d+; r \+= 8\) \{\n[^\n]*\n\s+cp_async16\([^\n]*k_cache/);
    expect(prefill).not.toMatch(/for \(int i = 0; i < 8; \+\+i\) \{\n\s+const int r = tid \/ 16 \+ i \* 8, c = \(tid % 16\) \* 8;\n[^\n]*\n\s+cp_async16\([^\n]*(k|v)_cache/);
  });

  it("unrolls a four-warp block's gathers where every row reads a page-table entry of its own (page 1), unless the build drops it", () => {
    // 64 x 128 bf16, 16 chunks a row, 128 threads: 8 rows a thread, rows tid / 16 + 8i.
    const unrolled = (cache: string) =>
      new RegExp(`#pragma unroll\\n\\s+for \\(int i = 0; i < 8; \\+\\+i\\) \\{\\n\\s+const int r = tid / 16 \\+ i \\* 8, c = \\(tid % 16\\) \\* 8;\\n[^\\n]*\\n\\s+cp_async16\\([^\\n]*${cache} \\+ \\(ok \\? [^\\n]*page_table\\[`, "g");
    const stepping = (src: string) => new RegExp(`for \\(int r = tid / 16, c = \\(tid % 16\\) \\* 8; r < 64; r \\+= 8\\) \\{\\n[^\\n]*\\n\\s+cp_async16\\([^\\n]*${src} \\+`, "g");
    const p1 = cudaOf(["kernels-src/gqa.ts"], "gqa_paged.bf16.g4.p1");
    expect(p1.target.blockDim).toEqual([128, 1, 1]);
    // K before the loop, K ahead and V in each loop over tiles (whole, diagonal); Q has no table.
    for (const cache of ["k_cache", "v_cache"]) expect(p1.code.match(unrolled(cache))?.length, cache).toBeGreaterThanOrEqual(2);
    for (const cache of ["k_cache", "v_cache"]) expect(p1.code).not.toMatch(stepping(cache));
    expect(p1.code).toMatch(stepping("q"));
    // The build's fallback level (generate-cuda.ts) makes the same kernel with the stepping loops.
    const rolled = cudaKernel([ONE["gqa.ts"].file], "gqa_paged.bf16.g4.p1", { wgmma: false, unrolledGathers: false }, ONE["gqa.ts"].sources).code;
    for (const cache of ["k_cache", "v_cache"]) {
      expect(rolled).not.toMatch(unrolled(cache));
      expect(rolled.match(stepping(cache))?.length).toBe(p1.code.match(unrolled(cache))?.length);
    }
  });

  it("pipelines the E4M3 twin's byte tiles the same way, with no widened tile in shared memory", () => {
    const fp8 = cudaOf(["kernels-src/decode_split.ts"], "gqa_decode_split_fp8.bf16.g4.p16");
    // Q + two 32 x 128 byte tiles (rows of 144): keys and values both widen in registers
    // (fp8-keys.ts, fp8-values.ts; cuda-fp8-keys.test.ts, cuda-fp8-values.test.ts).
    expect(fp8.target.sharedBytes).toBe(4352 + 2 * 32 * 144);
    expect(fp8.code).toMatch(/const int t_\d+_ahead = \(\(t_\d+ \+ 1\) \* 32\);/);
    expect(fp8.code).not.toMatch(/fp8x8_widen<(true|false)>\(smem/);
  });
});

describe("CUDA block order: the longest blocks first", () => {
  const program = (name: string, file = "kernels-src/mha.ts") => cudaOf([file], name).code.match(/const int \w+ = \(int\)[^;]*blockIdx\.\w\)?;/g);

  it("numbers the query tiles of causal prefill from the far end (the key loop ends at the diagonal)", () => {
    expect(program("mha_prefill.bf16.hd128.causal")).toEqual([
      expect.stringContaining("(int)(gridDim.x - 1 - blockIdx.x);"),
      expect.stringContaining("(int)blockIdx.y;"),
      expect.stringContaining("(int)blockIdx.z;"),
    ]);
  });

  it("keeps the launch order where every block runs the same loop or both bounds move together", () => {
    for (const [name, file] of [
      ["mha_prefill.bf16.hd128.nocausal", "kernels-src/mha.ts"],
      ["swa_paged.bf16.p16", "kernels-src/sliding_window.ts"],
      ["gqa_decode_split.bf16.g4.p16", "kernels-src/decode_split.ts"],
    ]) {
      const lines = program(name, file)!;
      expect(lines.length, name).toBeGreaterThan(0);
      for (const l of lines) expect(l, name).not.toContain("gridDim");
    }
  });
});
