// fp8 E4M3 on the host: OCP E4M3FN, as in CUDA's __nv_fp8_e4m3 and torch's float8_e4m3fn: 1 sign,
// 4 exponent (bias 7) and 3 mantissa bits; no infinities; the largest finite value is 448; 0x7F
// and 0xFF are NaN. Both runtimes upload and read fp8 tensors with these; the interpreter and the
// test references round with them.

export const E4M3_MAX = 448;
export const E4M3_NAN = 0x7f;

/**
 * Nearest E4M3 to `x` after rounding `x` to f32 (the conversion GPUs do from an f32 register),
 * ties to even, as its 8 bits. Out of range (|x| above 464, the midpoint between 448 and the
 * next would-be value, 480) and ±Infinity give NaN, as `__nv_cvt_float_to_fp8(x, __NV_NOSAT,
 * __NV_E4M3)` and torch do; with `saturate` they give ±448 instead (__NV_SATFINITE). NaN gives 0x7F.
 */
export function f32ToE4m3Bits(x: number, saturate = false): number {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return E4M3_NAN;
  const sign = f < 0 || Object.is(f, -0) ? 0x80 : 0;
  const a = Math.abs(f);
  if (a === Infinity) return saturate ? sign | 0x7e : sign | E4M3_NAN;
  if (a === 0) return sign;
  // The spacing of E4M3 values around `a`: 2^(e - 3) in binade [2^e, 2^(e+1)), and 2^-9 for the
  // subnormals below 2^-6. a / q is exact (q is a power of two), so the rounding is exact too.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, -6) - 3);
  const n = a / q;
  let r = Math.floor(n);
  const rest = n - r;
  if (rest > 0.5 || (rest === 0.5 && r % 2 === 1)) r++;
  const v = r * q; // the rounded magnitude; may have carried into the next binade
  if (v > E4M3_MAX) return saturate ? sign | 0x7e : sign | E4M3_NAN;
  if (v === 0) return sign;
  if (v < 2 ** -6) return sign | (v / 2 ** -9); // subnormal: 0.mmm x 2^-6
  let ve = Math.floor(Math.log2(v));
  if (2 ** ve > v) ve--;
  else if (2 ** (ve + 1) <= v) ve++;
  const mant = v / 2 ** ve * 8 - 8;
  return sign | ((ve + 7) << 3) | mant;
}

/** The value of E4M3 bits `b` (exact in f32). */
export function e4m3BitsToF32(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >>> 3) & 0xf;
  const m = b & 7;
  if (e === 0xf && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (8 + m) * 2 ** (e - 10);
}

/** Round `x` to E4M3 and back. */
export function roundToE4m3(x: number, saturate = false): number {
  return e4m3BitsToF32(f32ToE4m3Bits(x, saturate));
}

/**
 * `f32ToE4m3Bits` of every value, on the f32 bit patterns (tens of millions a second, where the
 * per-value routine above does a few million: a 64k-token cache is 10M values).
 */
export function encodeE4m3(values: ArrayLike<number>, saturate = false): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n);
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, n);
  const overflow = saturate ? 0x7e : E4M3_NAN;
  for (let i = 0; i < n; i++) {
    const u = bits[i];
    const sign = (u >>> 24) & 0x80;
    const a = u & 0x7fffffff;
    if (a > 0x7f800000) out[i] = E4M3_NAN;
    else if (a > E4M3_ROUNDS_TO_MAX) out[i] = sign | overflow; // beyond 464, or infinite
    else if (a >= E4M3_MIN_NORMAL) {
      // Round the 23 mantissa bits to 3, ties to even; a carry moves into the exponent, as it
      // should. Then rebias the exponent from 127 to 7.
      out[i] = sign | (((a + 0x7ffff + ((a >>> 20) & 1)) >>> 20) - (120 << 3));
    } else {
      // Subnormal E4M3 (or zero): a multiple of 2^-9, rounded ties to even; 8 is 2^-6, the
      // smallest normal, whose code is 8 too.
      const x = f32[i] < 0 ? -f32[i] * 512 : f32[i] * 512;
      let r = Math.floor(x);
      const rest = x - r;
      if (rest > 0.5 || (rest === 0.5 && (r & 1) === 1)) r++;
      out[i] = sign | r;
    }
  }
  return out;
}
/** f32 bits of 464, the largest magnitude that rounds to 448 (ties to even), and of 2^-6. */
const E4M3_ROUNDS_TO_MAX = 0x43e80000;
const E4M3_MIN_NORMAL = 0x3c800000;

/** The value of every E4M3 code: decodeE4m3 looks codes up (a cache read back is millions). */
const E4M3_VALUES = Float32Array.from({ length: 256 }, (_, c) => e4m3BitsToF32(c));

export function decodeE4m3(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = E4M3_VALUES[bits[i] & 0xff];
  return out;
}
