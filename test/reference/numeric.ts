/**
 * Numeric helpers every kernel test uses: the error metric, seeded random
 * inputs, f16/bf16 rounding and batch / paged-cache fixtures. Re-exports the
 * pieces so tests need a single import.
 */
export { makeRng, freshSeed, withSeed, randn, randInt, shuffle, type Rng } from "./rng.ts";
export { toF16Bits, fromF16Bits, roundToF16, toBf16Bits, fromBf16Bits, roundToBf16 } from "./half.ts";
export { makeVarlenBatch, makePagedCache, type PagedCache, type PagedCacheSpec } from "./batch.ts";

/**
 * ||out - ref||_2 / ||ref||_2 in float64.
 *
 * Designed so a broken kernel can never slip under a tolerance:
 * - any NaN (in out or ref) gives Infinity;
 * - non-finite out where ref is finite gives Infinity;
 * - where ref is +-Infinity (LSE of a fully masked row is -Infinity) out must
 *   be the same infinity, else Infinity; matching infinities contribute 0;
 * - if ref is all zeros the relative error is undefined, so the max |out|
 *   is returned instead (an absolute error, 0 only if out is all zeros too).
 */
export function relError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`relError: length ${out.length} != ${ref.length}`);
  let diff2 = 0;
  let ref2 = 0;
  let maxAbsOut = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i];
    const r = ref[i];
    if (Number.isNaN(o) || Number.isNaN(r)) return Infinity;
    if (!Number.isFinite(r)) {
      if (o !== r) return Infinity;
      continue;
    }
    if (!Number.isFinite(o)) return Infinity;
    diff2 += (o - r) * (o - r);
    ref2 += r * r;
    maxAbsOut = Math.max(maxAbsOut, Math.abs(o));
  }
  if (ref2 === 0) return maxAbsOut;
  return Math.sqrt(diff2) / Math.sqrt(ref2);
}

/** max_i |out_i - ref_i| (NaN-safe: any NaN gives Infinity). Handy for LSE checks. */
export function maxAbsError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`maxAbsError: length ${out.length} != ${ref.length}`);
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i];
    const r = ref[i];
    if (Number.isNaN(o) || Number.isNaN(r)) return Infinity;
    if (o === r) continue; // also covers matching infinities
    m = Math.max(m, Math.abs(o - r));
  }
  return m;
}
