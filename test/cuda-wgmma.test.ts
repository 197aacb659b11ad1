// The wgmma path (`flashtile compile --cuda-wgmma`), read from the CUDA C and PTX it produces, no
// GPU: which kernels take it and in what shape; that every shared-memory descriptor the kernel
// hands the tensor cores addresses exactly the tile elements the dot needs, emulating the
// hardware's canonical SWIZZLE_128B layouts (K-major: 8-row groups SBO apart; MN-major:
// 64-element blocks LBO apart, 8-row groups SBO apart; then byte-address bits 4-6 ^= bits 7-9)
// over the kernel's own sw128 placement and descriptor expressions; and that nvcc builds the
// sm_90a PTX with wgmma and no serialization notes, the sm_80 PTX with none.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileCuda } from "../compiler/backends/cuda/index.ts";
import { nvccPath } from "../compiler/backends/cuda/nvcc.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileAll } from "../compiler/pipeline.ts";

function cudaOf(file: string, name: string, wgmma: boolean) {
  const diags = new Diagnostics();
  const ir = compileAll([file], diags, { target: "cuda" }).find((k) => k.name === name);
  expect(formatDiagnostics(diags.list)).toBe("");
  expect(ir, name).toBeDefined();
  return compileCuda(ir!, `${name}.cu`, { wgmma });
}

/** The kernel's own sw128() helper, evaluated as written (its body is valid JavaScript). */
function sw128Of(code: string): (row: number, col: number, rows: number) => number {
  const body = /int sw128\(int row, int col, int rows\) \{\s*(return [^;]+;)/.exec(code)![1];
  return new Function("row", "col", "rows", body) as (row: number, col: number, rows: number) => number;
}

/** Shared tiles filled by cp.async: region offset -> (rows, the tensor copied). */
function tilesOf(code: string): Map<number, { rows: number; tensor: string }> {
  const tiles = new Map<number, { rows: number; tensor: string }>();
  for (const m of code.matchAll(/cp_async16\(smem \+ (\d+) \+ sw128\(r, c, (\d+)\), (\w+) \+/g)) tiles.set(Number(m[1]), { rows: Number(m[2]), tensor: m[3] });
  return tiles;
}

interface Desc {
  start: string;
  lbo: number;
  sbo: number;
}
interface Call {
  n: number;
  regsA: boolean;
  trans: number;
  a?: Desc;
  b: Desc;
}

function callsOf(code: string): Call[] {
  const desc = String.raw`sw128_desc\(smem \+ ([^,]+), (\d+), (\d+)\)`;
  const re = new RegExp(String.raw`wgmma_m64n(\d+)k16_(ss|rs)_(?:bf16|f16)<(\d)>\(\w+, (?:${desc}|[\w\[\]]+), ${desc}\);`, "g");
  return [...code.matchAll(re)].map((m) => ({
    n: Number(m[1]),
    regsA: m[2] === "rs",
    trans: Number(m[3]),
    a: m[4] === undefined ? undefined : { start: m[4], lbo: Number(m[5]), sbo: Number(m[6]) },
    b: { start: m[7], lbo: Number(m[8]), sbo: Number(m[9]) },
  }));
}

const evalStart = (expr: string, kk: number, warp: number): number => new Function("smem", "kk", "warp", `return ${expr};`)(0, kk, warp) as number;
/** SWIZZLE_128B on a byte address (the atom 1024-byte aligned): bits 4-6 ^= bits 7-9. */
const swizzle = (a: number) => a ^ (((a >> 7) & 7) << 4);
/** Where the tensor cores read element (mn, k) of a k16 operand through a descriptor. */
function hwAddress(d: Desc, start: number, mnMajor: boolean, mn: number, k: number): number {
  const a = mnMajor ? start + (mn >> 6) * d.lbo + (k >> 3) * d.sbo + (k & 7) * 128 + (mn & 63) * 2 : start + (mn >> 3) * d.sbo + (mn & 7) * 128 + k * 2;
  return swizzle(a);
}
/** Region offset of the tile a start address falls in (the largest offset not above it). */
const regionOf = (tiles: Map<number, unknown>, start: number) => Math.max(...[...tiles.keys()].filter((o) => o <= start));

/**
 * For every wgmma of the kernel, every k step and warpgroup: the descriptors read the tile
 * elements the dot multiplies. A (64 x 16) is rows 64 * warpgroup.. of the A tile, columns
 * 16 kk..; B is K^T (K-major: row n, columns 16 kk..) or V (MN-major: rows 16 kk.., column n).
 */
function checkDescriptors(code: string, K: { s: number; o: number }, warpgroups: number): number {
  const sw128 = sw128Of(code);
  const tiles = tilesOf(code);
  let checked = 0;
  for (const c of callsOf(code)) {
    const steps = c.trans ? K.o : K.s;
    for (let kk = 0; kk < steps / 16; kk++) {
      for (let wg = 0; wg < warpgroups; wg++) {
        const bStart = evalStart(c.b.start, kk, wg * 4);
        const bRegion = regionOf(tiles, bStart);
        const bRows = tiles.get(bRegion)!.rows;
        for (let n = 0; n < c.n; n++)
          for (let k = 0; k < 16; k++) {
            const want = c.trans ? bRegion + sw128(16 * kk + k, n, bRows) : bRegion + sw128(n, 16 * kk + k, bRows);
            expect(hwAddress(c.b, bStart, c.trans === 1, n, k), `B(${k}, ${n}) at kk ${kk}`).toBe(want);
          }
        if (c.a) {
          const aStart = evalStart(c.a.start, kk, wg * 4);
          const aRegion = regionOf(tiles, aStart);
          const aRows = tiles.get(aRegion)!.rows;
          for (let m = 0; m < 64; m++)
            for (let k = 0; k < 16; k++) expect(hwAddress(c.a, aStart, false, m, k), `A(${m}, ${k}) at kk ${kk}, warpgroup ${wg}`).toBe(aRegion + sw128(64 * wg + m, 16 * kk + k, aRows));
        }
        checked++;
      }
    }
  }
  return checked;
}

describe("wgmma path: shapes", () => {
  it("plans 8 warps of one 16-row tile for a 128-row prefill; without the option, the mma.sync plan is unchanged", () => {
    const on = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", true);
    const off = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", false);
    expect(on.target.blockDim).toEqual([256, 1, 1]);
    expect(off.target.blockDim).toEqual([128, 1, 1]);
    expect(off.code).not.toContain("wgmma");
    expect(on.code).toContain("8 warps x 1 row tile(s) of 16");
    expect(on.code).toContain("__align__(1024) unsigned char smem[]");
    // Q 128 x 128, K and V 64 x 128, unpadded: 64 KiB (the padded layout took 68 KiB).
    expect(on.target.sharedBytes).toBe(65536);
    expect(off.target.sharedBytes).toBe(69632);
    // Both dots of the loop's three copies (masked tiles before and after, whole tiles between):
    // S from shared Q and K, O += P·V with P packed from the score registers.
    expect(on.code.match(/wgmma_m64n64k16_ss_bf16<0>\(/g)?.length).toBe(3);
    expect(on.code.match(/wgmma_m64n128k16_rs_bf16<1>\(/g)?.length).toBe(3);
  });

  it("keeps decode kernels (16-row dots) and MLA (512-wide accumulators) on mma.sync", () => {
    expect(cudaOf("kernels-src/gqa.ts", "gqa_decode.bf16.g4.p16", true).code).not.toContain("wgmma");
    expect(cudaOf("kernels-src/mla.ts", "mla_paged.bf16.p16", true).code).not.toContain("wgmma");
  });
});

describe("wgmma path: descriptors read the right tile elements (emulated SWIZZLE_128B)", () => {
  it("sw128 places a 64 x 128 tile one-to-one in its 16 KiB", () => {
    const sw128 = sw128Of(cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", true).code);
    const seen = new Set<number>();
    for (let r = 0; r < 64; r++) for (let c = 0; c < 128; c++) seen.add(sw128(r, c, 64));
    expect(seen.size).toBe(64 * 128);
    expect(Math.max(...seen)).toBe(64 * 128 * 2 - 2);
  });

  it("causal prefill, head dim 128: Q from shared memory (two warpgroups), K K-major, V MN-major", () => {
    expect(checkDescriptors(cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", true).code, { s: 128, o: 64 }, 2)).toBe(3 * (8 + 4) * 2);
  });

  it("prefill, head dim 256 (64-row tiles, one warpgroup, four 64-column blocks)", () => {
    expect(checkDescriptors(cudaOf("kernels-src/mha.ts", "mha_prefill.f16.hd256.nocausal", true).code, { s: 256, o: 64 }, 1)).toBe(3 * (16 + 4));
  });

  it("head dim 64: Q as cached register fragments (A from registers in both dots)", () => {
    const code = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd64.nocausal", true).code;
    expect(code).toMatch(/wgmma_m64n\d+k16_rs_bf16<0>\(t_\d+, Q_\d+_frag\[0\]\[kk\]/);
    expect(checkDescriptors(code, { s: 64, o: 128 }, 2)).toBeGreaterThan(0);
  });
});

describe("wgmma path: nvcc", () => {
  const nvcc = nvccPath();
  it("nvcc is installed", () => expect(nvcc, "nvcc not found: install the CUDA toolkit").toBeDefined());

  for (const [file, name] of [
    ["kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal"],
    ["kernels-src/gqa.ts", "gqa_paged_fp8.bf16.g4.p16"],
  ]) {
    it(`${name}: sm_90a PTX issues wgmma with no serialization note from ptxas, sm_80 PTX uses ldmatrix + mma.sync`, { timeout: 300_000 }, () => {
      const k = cudaOf(file, name, true);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wgmma-"));
      fs.writeFileSync(path.join(dir, "k.cu"), k.code);
      // ptxas's notes (-v and the C75xx performance notes) come on stderr; keep them with the PTX.
      const build = (arch: string) => {
        const notes = execFileSync("bash", ["-c", `"$0" -cubin -gencode=arch=compute_${arch.slice(3)},code=${arch} -Xptxas -v -std=c++17 --keep --keep-dir . -o ${arch}.cubin k.cu 2>&1`, nvcc!], { cwd: dir, encoding: "utf8" });
        return { ptx: fs.readFileSync(path.join(dir, "k.ptx"), "utf8"), notes };
      };
      const hopper = build("sm_90a");
      expect(hopper.ptx).toMatch(/wgmma\.mma_async\.sync\.aligned\.m64n\d+k16\.f32\.bf16\.bf16/);
      expect(hopper.ptx).toContain("fence.proxy.async.shared::cta");
      expect(hopper.notes).not.toMatch(/C75\d\d/);
      expect(hopper.notes).toMatch(/0 bytes spill stores, 0 bytes spill loads/);
      const ampere = build("sm_80");
      expect(ampere.ptx).not.toContain("wgmma");
      expect(ampere.ptx).toContain("ldmatrix");
      expect(ampere.ptx).toContain("mma.sync.aligned.m16n8k16");
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});
