// The CUDA backend's layout decisions, read from the CUDA C it emits (no nvcc, no GPU): the warps
// that split a wide accumulator's columns (MLA's 512 latent columns), the k-split of the scores
// dot across those warps, the double-buffered latent tile, and the error for a layout the column
// split cannot hold. cuda-build.test.ts compiles what ships; the CUDA suite runs it on a GPU.
import { describe, expect, it } from "vitest";
import { compileCuda } from "../compiler/backends/cuda/index.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileCudaKernels } from "../compiler/generate.ts";
import { compileAll } from "../compiler/pipeline.ts";

function cudaOf(files: string[], name: string, sources?: Map<string, string>) {
  const diags = new Diagnostics();
  const ir = compileAll(files, diags, { target: "cuda", sources }).find((k) => k.name === name);
  expect(formatDiagnostics(diags.list)).toBe("");
  expect(ir, name).toBeDefined();
  return compileCuda(ir!, `${name}.cu`);
}

describe("CUDA layout for MLA: column-split warps", () => {
  const k = cudaOf(["kernels-src/mla.ts"], "mla_paged.bf16.p16");
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
    expect(code).toMatch(/out\[.*\(wcol \* 256 \+ nt \* 8 \+ 2 \* t4 \+ p\)/);
  });

  it("splits the 512-long scores dot by k across the groups and adds the parts in shared memory", () => {
    expect(code).toContain("for (int kq = 0; kq < 16; ++kq) {");
    expect(code).toContain("const int kk = wcol * 16 + kq;");
    expect(code).toMatch(/reinterpret_cast<float\*>\(smem \+ (\d+)\)\[\(wcol \* 16 \+ x\) \* 128 \+ \(tid % 128\)\] = t_\d+\[x\];/);
    // Every group sums group 0's part then group 1's: the same bits in both.
    expect(code).toMatch(/t_(\d+)\[x\] = reinterpret_cast<float\*>\(smem \+ \d+\)\[\(0 \* 16 \+ x\) \* 128 \+ \(tid % 128\)\];\n\s+t_\1\[x\] \+= reinterpret_cast<float\*>\(smem \+ \d+\)\[\(1 \* 16 \+ x\) \* 128/);
    // The rope dot (k = 64) is too short to split: it accumulates onto the summed scores.
    expect(code).toMatch(/mma_bf16\(&t_(\d+)\[\(mt \* 4 \+ nt\) \* 4\], a\[mt\], b\[0\], b\[1\]\);[\s\S]*for \(int kk = 0; kk < 4; \+\+kk\)[\s\S]*mma_bf16\(&t_\1\[/);
    // The exchange buffer lies past the operand tiles.
    const at = Number(code.match(/smem \+ (\d+)\)\[\(wcol/)![1]);
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
