// The CUDA C the compiler writes for one instance of a spec, and a way to evaluate the C integer
// expressions in it, for the tests that read generated code without a GPU.
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { type CudaKernel, type CudaOptions, compileCuda } from "../../compiler/backends/cuda/index.ts";
import { Diagnostics } from "../../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../../compiler/diagnostics/format.ts";
import { compileAll } from "../../compiler/pipeline.ts";

/** Instance `name` of the specs in `files` compiled to CUDA (no diagnostics expected). */
export function cudaKernel(files: string[], name: string, opts: CudaOptions = {}, sources?: Map<string, string>): CudaKernel {
  const diags = new Diagnostics();
  const ir = compileAll(files, diags, { target: "cuda", sources }).find((k) => k.name === name);
  expect(formatDiagnostics(diags.list)).toBe("");
  expect(ir, name).toBeDefined();
  return compileCuda(ir!, `${name}.cu`, opts);
}

/** kernels-src/mla.ts with the Hopper key tile set to `blockN` (its own sources map entry). */
export function mlaWithBlockN(blockN: number): { file: string; sources: Map<string, string> } {
  return specWith("kernels-src/mla.ts", /BLOCK_M = 64, BLOCK_N = 64 \/\/[^\n]*/, `BLOCK_M = 64, BLOCK_N = ${blockN}`, `BLOCK_M = 64, BLOCK_N = ${blockN}`);
}

/**
 * kernels-src/mha.ts with the Hopper tiles of one warpgroup a block (64 rows; 64 keys, 128 at
 * head dim 64 causal), as the prefill shipped before the warp-specialized schedule: the tests of
 * the one-warpgroup loops (overlap.ts, tma-stream.ts) read its head-dim-128 builds.
 */
export function mhaOneWarpgroup(): { file: string; sources: Map<string, string> } {
  return specWith("kernels-src/mha.ts", /(target cuda: T in \[[^\]]*\], HEAD_DIM in \[[^\]]*\]), BLOCK_M = [^\n]*/, "$1, BLOCK_M = 64, BLOCK_N = (HEAD_DIM == 64 && CAUSAL ? 128 : 64)", "BLOCK_M = 64, BLOCK_N = (HEAD_DIM == 64 && CAUSAL ? 128 : 64)");
}

/**
 * kernels-src/gqa.ts with gqa_paged's Hopper tiles of one warpgroup a block (64 x 64), as it
 * shipped before the warp-specialized schedule took pages of 16 and 64: the tests of the
 * one-warpgroup loops (overlap.ts, tma-stream.ts) read those builds.
 */
export function gqaOneWarpgroup(): { file: string; sources: Map<string, string> } {
  return specWith("kernels-src/gqa.ts", /(target cuda: T in \[bf16, f16\], GROUP in \[1, 4, 8\]), BLOCK_M = 128, BLOCK_N = 128/, "$1, BLOCK_M = 64, BLOCK_N = 64", "target cuda: T in [bf16, f16], GROUP in [1, 4, 8], BLOCK_M = 64, BLOCK_N = 64\n  target cuda sm_80");
}

/** kernels-src/sliding_window.ts with swa_paged's Hopper tiles one warpgroup's, 64 x 64, as before its builds were warp-specialized. */
export function swaOneWarpgroup(): { file: string; sources: Map<string, string> } {
  return specWith("kernels-src/sliding_window.ts", /(target cuda: T in \[bf16, f16\]), BLOCK_M = 128, BLOCK_N = 128/, "$1, BLOCK_M = 64, BLOCK_N = 64", "target cuda: T in [bf16, f16], BLOCK_M = 64, BLOCK_N = 64\n  // Without wgmma");
}

/** A spec file with one clause rewritten (its own sources map entry), checked to hold `expected`. */
function specWith(rel: string, pattern: RegExp, replacement: string, expected: string): { file: string; sources: Map<string, string> } {
  const file = path.resolve(rel);
  const src = fs.readFileSync(file, "utf8").replace(pattern, replacement);
  expect(src).toContain(expected);
  return { file, sources: new Map([[file, src]]) };
}

/** A C int expression of a kernel's, evaluated with these variables (`/` truncates, as C's does; safe_div and safe_rem as the kernels define them). */
export function evalC(expr: string, vars: Record<string, number>): number {
  const js = expr.replace(/(\w+|\([^()]*\)) \/ (\d+)/g, "Math.trunc($1 / $2)");
  const fn = new Function("safe_div", "safe_rem", ...Object.keys(vars), `return ${js};`);
  const safeDiv = (a: number, b: number) => (b === 0 ? 0 : Math.trunc(a / b));
  const safeRem = (a: number, b: number) => (b === 0 ? 0 : a % b);
  return fn(safeDiv, safeRem, ...Object.values(vars)) as number;
}

/**
 * What the row tests of mla_paged's store read of its CUDA C: the names it gives the request's
 * first token and query length, and the (heads, row tile, query length) cases they walk.
 */
export function mlaRowCases(code: string): { q0: string; qLen: string; cases: { heads: number; mTile: number; qLenV: number }[] } {
  const q0 = code.match(/const int (q0_\d+) = cu_seqlens_q/)![1];
  const qLen = code.match(/const int (q_len_\d+) = /)![1];
  const cases = [128, 16, 3].flatMap((heads) => [0, 1, 5].flatMap((mTile) => [1, 2, 40].map((qLenV) => ({ heads, mTile, qLenV }))));
  return { q0, qLen, cases };
}

/** The comment that opens an overlapped loop's sm_90a code (overlap-emit.ts). */
export const OVERLAP_MARK = "// whole tiles: the next tile's scores issued before this tile's P·V";

/** The sm_90a overlapped loop of `code` (its comment to the plain loop's `#else`) and the rest of the kernel. */
export function overlapSections(code: string): { loop: string; rest: string } {
  const from = code.indexOf(OVERLAP_MARK);
  expect(from).toBeGreaterThan(0);
  const to = code.indexOf("\n  #else\n", from);
  return { loop: code.slice(from, to), rest: code.slice(0, from) + code.slice(to) };
}
