// The emulation behind test/cuda-wgmma.test.ts: each wgmma call's shared-memory descriptors, read
// from the kernel's CUDA C, against the hardware's canonical SWIZZLE_128B layouts (K-major: 8-row
// groups SBO apart; MN-major: 64-element blocks LBO apart, 8-row groups SBO apart; then
// byte-address bits 4-6 ^= bits 7-9) over the kernel's own sw128 placement.
import { expect } from "vitest";
import { evalC } from "./cuda-source.ts";

/** The kernel's own sw128() helper, evaluated as written (its body is valid JavaScript). */
export function sw128Of(code: string): (row: number, col: number, rows: number) => number {
  const body = /int sw128\(int row, int col, int rows\) \{\s*(return [^;]+;)/.exec(code)![1];
  return new Function("row", "col", "rows", body) as (row: number, col: number, rows: number) => number;
}

/** Loop indices standing for every buffer of a tile: `t & 1` picks one of two, `t % 3` of three. */
const PARITIES = [0, 1, 2];

/**
 * Shared tiles filled by cp.async: region offset -> rows. A multi-buffered tile's offset picks its
 * buffer by a loop index (`(o + (t_N & 1) * size)`, `(o + ((t_N + 2) % 3) * size)`): every buffer is listed.
 */
function tilesOf(code: string): Map<number, number> {
  const tiles = new Map<number, number>();
  for (const m of code.matchAll(/cp_async16\(smem \+ (.+?) \+ sw128\((?:r|\(tid \/ \d+ \+ i \* \d+\)), c, (\d+)\)/g))
    for (const parity of PARITIES) tiles.set(evalParity(m[1], { parity }), Number(m[2]));
  // Buffers only TMA writes (V's second buffer in an overlapped loop, overlap-emit.ts): its boxes' first rows.
  for (const m of code.matchAll(/tma_box_if\(on, smem \+ (.+?) \+ sw128\(0, 0, (\d+)\)/g))
    for (const parity of PARITIES) tiles.set(evalParity(m[1], { parity }), Number(m[2]));
  return tiles;
}

/** A C expression of the kernel's, evaluated (cuda-source.ts): loop parities as `parity`, smem at 0. */
function evalParity(expr: string, vars: Record<string, number>): number {
  return evalC(expr.replace(/\bt_\d+\b/g, "parity"), { smem: 0, parity: 0, ...vars });
}

interface Desc {
  /** The descriptor's first address (a C expression of the warpgroup and buffer) and its step (of the loop index). */
  base: string;
  step: string;
  lbo: number;
  sbo: number;
}
interface Call {
  steps: number;
  kSplit: boolean;
  /** The first column of a group's slice of a column-split result, per group (`wcol * n`). */
  slice?: number;
  n: number;
  trans: number;
  a?: Desc;
  b: Desc;
}

/**
 * Every wgmma call with the step count, k split and column slice its comment states, and its
 * descriptors: each built once (`const uint64_t db = sw128_desc(smem + base, lbo, sbo)`) and
 * stepped in the call by a constant (`db + (uint64_t)((step) >> 4)`).
 */
function callsOf(code: string): Call[] {
  const desc = (d: string) => String.raw`const uint64_t ${d} = sw128_desc\(smem \+ (.+?), (\d+), (\d+)\);`;
  const step = (d: string) => String.raw`${d} \+ \(uint64_t\)\(\((.+?)\) >> 4\)`;
  const re = new RegExp(
    String.raw`on this warpgroup's tensor cores: (\d+) x wgmma[^\n]*?(?: \(columns wcol \* (\d+)\.\.\))?( \(this group's k steps\))?\n[^]*?${desc("db")}\s*(?:${desc("da")})?[^]*?wgmma_m64n(\d+)k16_(?:ss|rs)_(?:bf16|f16)<(\d)>\(\w+, (?:${step("da")}|[\w\[\]]+), ${step("db")}(?:, \w+ != 0)?\);`,
    "g",
  );
  return [...code.matchAll(re)].map((m) => ({
    steps: Number(m[1]),
    slice: m[2] === undefined ? undefined : Number(m[2]),
    kSplit: m[3] !== undefined,
    n: Number(m[10]),
    trans: Number(m[11]),
    a: m[7] === undefined ? undefined : { base: m[7], step: m[12], lbo: Number(m[8]), sbo: Number(m[9]) },
    b: { base: m[4], step: m[13], lbo: Number(m[5]), sbo: Number(m[6]) },
  }));
}

/** SWIZZLE_128B on a byte address (the atom 1024-byte aligned): bits 4-6 ^= bits 7-9. */
const swizzle = (a: number) => a ^ (((a >> 7) & 7) << 4);
/** Where the tensor cores read element (mn, k) of a k16 operand through a descriptor. */
function hwAddress(d: Desc, start: number, mnMajor: boolean, mn: number, k: number): number {
  const a = mnMajor ? start + (mn >> 6) * d.lbo + (k >> 3) * d.sbo + (k & 7) * 128 + (mn & 63) * 2 : start + (mn >> 3) * d.sbo + (mn & 7) * 128 + k * 2;
  return swizzle(a);
}
/** Region offset of the tile a start address falls in (the largest offset not above it). */
const regionOf = (tiles: Map<number, number>, start: number) => Math.max(...[...tiles.keys()].filter((o) => o <= start));

/**
 * For every wgmma of the kernel, every k step, warpgroup of rows, column group and buffer: the
 * descriptors read the tile elements the dot multiplies. A (64 x 16) is rows 64 * warpgroup..
 * of the A tile, columns 16 kk..; B is K^T (K-major: row first + n, columns 16 kk..) or V
 * (MN-major: rows 16 kk.., column first + n), where `first` is the column group's slice of a
 * split result. A k-split dot's group wcol runs steps wcol * steps.. of the whole k.
 */
export function checkDescriptors(code: string, shape: { warpgroups: number; groups: number }, written = new Map<number, number>()): number {
  const sw128 = sw128Of(code);
  // Tiles the warps write themselves (a leader's P) beside those cp.async fills.
  const tiles = new Map([...tilesOf(code), ...written]);
  let checked = 0;
  for (const c of callsOf(code))
    for (let wcol = 0; wcol < shape.groups; wcol++)
      for (const parity of PARITIES)
        for (let q = 0; q < c.steps; q++)
          for (let wg = 0; wg < shape.warpgroups; wg++) {
            const kk = c.kSplit ? wcol * c.steps + q : q;
            // The kernel's names: the loop index (kk, or kq for a group's share), the warpgroup.
            const vars = { kk: q, kq: q, wg_row: wg, wg_col: wcol, warp: wg * 4, wcol, parity };
            const start = (d: Desc) => evalParity(d.base, vars) + evalParity(d.step, vars);
            const first = c.slice === undefined ? 0 : wcol * c.slice;
            const bStart = start(c.b);
            const bRegion = regionOf(tiles, bStart);
            const bRows = tiles.get(bRegion)!;
            for (let n = 0; n < c.n; n++)
              for (let k = 0; k < 16; k++) {
                const want = c.trans ? bRegion + sw128(16 * kk + k, first + n, bRows) : bRegion + sw128(first + n, 16 * kk + k, bRows);
                expect(hwAddress(c.b, bStart, c.trans === 1, n, k), `B(${k}, ${n}) at kk ${kk}, group ${wcol}`).toBe(want);
              }
            if (c.a) {
              const aStart = start(c.a);
              const aRegion = regionOf(tiles, aStart);
              const aRows = tiles.get(aRegion)!;
              for (let m = 0; m < 64; m++)
                for (let k = 0; k < 16; k++) expect(hwAddress(c.a, aStart, false, m, k), `A(${m}, ${k}) at kk ${kk}, warpgroup ${wg}`).toBe(aRegion + sw128(64 * wg + m, 16 * kk + k, aRows));
            }
            checked++;
          }
  return checked;
}
