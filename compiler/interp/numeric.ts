// Scalar semantics of the interpreter: how a float64 result becomes a value of an IR dtype.
// Every tile element is held as a float64; after each operation it is brought back into its
// dtype here, so the interpreter sees exactly the values the GPU holds (f32 rounded after every
// op, f16/bf16 likewise, integers wrapped to 32 bits, booleans as 0/1).
import type { ScalarType } from "../ir/ir.ts";

// Powers of two by exponent, for the rounding constants below (2 ** n is slow in a hot loop).
const POW2_BIAS = 1100;
const POW2 = new Float64Array(2 * POW2_BIAS + 1);
for (let i = 0; i < POW2.length; i++) POW2[i] = 2 ** (i - POW2_BIAS);

// Reinterprets a float64's bits to read its exponent field without Math.log2 (which can be off
// by one near powers of two). Node runs on little-endian hosts: word 1 holds the exponent.
const F64 = new Float64Array(1);
const W32 = new Uint32Array(F64.buffer);

/**
 * Round `x` to the nearest value with `mant` fraction bits and minimum normal exponent `minExp`
 * (ties to even, subnormals kept, overflow to infinity). Rounds the float64 directly, never
 * through f32, so no double rounding: adding C = 1.5 * 2^(52 + e - mant) puts the sum in a
 * binade whose ulp is exactly the target format's ulp at x's exponent e, and the FPU's own
 * round-to-nearest-even does the rest.
 */
function roundBits(x: number, mant: number, minExp: number, maxFinite: number): number {
  if (x === 0 || x !== x || x === Infinity || x === -Infinity) return x;
  const a = x < 0 ? -x : x;
  F64[0] = a;
  let e = ((W32[1] >>> 20) & 0x7ff) - 1023;
  if (e < minExp) e = minExp; // subnormal range: a fixed ulp of 2^(minExp - mant)
  const c = 1.5 * POW2[POW2_BIAS + 52 + e - mant];
  let r = a + c - c;
  if (r > maxFinite) r = Infinity;
  return x < 0 ? -r : r;
}

const F16_MAX = 65504;
const BF16_MAX = (2 - 2 ** -7) * 2 ** 127;

/** The nearest f16 value (round to nearest, ties to even). */
export function roundF16(x: number): number {
  return roundBits(x, 10, -14, F16_MAX);
}

/** The nearest bf16 value (round to nearest, ties to even). */
export function roundBf16(x: number): number {
  return roundBits(x, 7, -126, BF16_MAX);
}

const E4M3_MAX = 448;

/**
 * The nearest fp8 E4M3 value, saturating at ±448 as CUDA's __nv_fp8_e4m3(float) does (the format
 * has no infinities); NaN stays NaN.
 */
export function roundE4m3(x: number): number {
  const r = roundBits(x, 3, -6, Infinity);
  return r > E4M3_MAX ? E4M3_MAX : r < -E4M3_MAX ? -E4M3_MAX : r;
}

/** `x` as a value of `dtype`: floats rounded, integers wrapped (the way a GPU's registers hold it). */
export function toDtype(x: number, dtype: ScalarType): number {
  switch (dtype) {
    case "f32": return Math.fround(x);
    case "f16": return roundF16(x);
    case "bf16": return roundBf16(x);
    case "f8e4m3": return roundE4m3(x);
    case "i32": return x | 0;
    case "u32": return x >>> 0;
    case "bool": return x !== 0 ? 1 : 0;
  }
}

/** Bring every element of `data` into `dtype`, in place; one loop per dtype to keep it fast. */
export function roundInPlace(data: Float64Array, dtype: ScalarType): void {
  const n = data.length;
  switch (dtype) {
    case "f32":
      for (let i = 0; i < n; i++) data[i] = Math.fround(data[i]);
      return;
    case "f16":
      for (let i = 0; i < n; i++) data[i] = roundF16(data[i]);
      return;
    case "bf16":
      for (let i = 0; i < n; i++) data[i] = roundBf16(data[i]);
      return;
    case "f8e4m3":
      for (let i = 0; i < n; i++) data[i] = roundE4m3(data[i]);
      return;
    case "i32":
      for (let i = 0; i < n; i++) data[i] = data[i] | 0;
      return;
    case "u32":
      for (let i = 0; i < n; i++) data[i] = data[i] >>> 0;
      return;
    case "bool":
      for (let i = 0; i < n; i++) data[i] = data[i] !== 0 ? 1 : 0;
      return;
  }
}

const INT_LIMITS = { i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1] } as const;

/**
 * A value conversion `to(x)` of an `from` value, as WGSL defines it: float to integer truncates
 * toward zero and saturates (NaN gives 0); i32 <-> u32 reinterprets the bits; anything to bool
 * is `x != 0`; bool to a number is 0 or 1; to a float rounds.
 */
export function convert(x: number, from: ScalarType, to: ScalarType): number {
  if (to === "bool") return x !== 0 ? 1 : 0;
  if (to === "i32" || to === "u32") {
    if (from === "f32" || from === "f16" || from === "bf16" || from === "f8e4m3") {
      if (x !== x) return 0;
      const [lo, hi] = INT_LIMITS[to];
      return Math.min(hi, Math.max(lo, Math.trunc(x)));
    }
    return toDtype(x, to);
  }
  return toDtype(x, to);
}
