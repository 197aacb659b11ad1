// f32 <-> f16 / bf16 conversion on raw bits. Plain typed-array code (no Math.f16round, no
// Float16Array, no Buffer) so it runs in Node 20 and in every browser. f32 -> half rounds to
// nearest, ties to even, which is what GPUs do when they store f32 values to f16/bf16, so
// host-side references built with these functions match kernel output bit for bit.

// One shared scratch word to reinterpret f32 <-> u32 bits without allocating per call.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest f16 to `x` (ties to even), as its 16 bits. Overflow gives ±Inf; NaN stays a quiet NaN. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;

  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;

  const e = exp - 127 + 15; // re-biased exponent for f16
  if (e >= 0x1f) return sign | 0x7c00; // too large: +-Inf

  if (e >= 1) {
    // Normal f16: keep 10 of the 23 mantissa bits and round on the 13 dropped ones. A carry out
    // of the mantissa correctly bumps the exponent (and the largest values up to Inf).
    let h = sign | (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
    return h;
  }

  // Subnormal f16 (or zero): the value in units of 2^-24 is the full 24-bit significand shifted
  // right by 126 - exp. Beyond a shift of 24 even the largest significand is below half a unit.
  const shift = 126 - exp;
  if (shift > 24) return sign;
  const sig = mant | 0x800000;
  let h = sig >>> shift;
  const rest = sig & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && h & 1)) h++; // may round up into the smallest normal: fine
  return sign | h;
}

/** The f32 value of f16 bits `h` (exact: every f16 is representable in f32). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** Nearest bf16 to `x` (ties to even), as its 16 bits: the top half of the f32, rounded. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x0040; // NaN: keep it quiet
  // Adding 0x7fff plus the lowest kept bit rounds to nearest with ties to even; the largest
  // finite values carry into the exponent and become Inf, as they should.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The f32 value of bf16 bits `h` (exact). */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** Round f32 `x` to f16 precision and back: the value a kernel storing f16 would produce. */
export function roundToF16(x: number): number {
  return f16BitsToF32(f32ToF16Bits(x));
}

/** Round f32 `x` to bf16 precision and back. */
export function roundToBf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

/** Encode numbers as half-precision bits (`dtype` "f16" or "bf16"). */
export function encodeHalf(dtype: "f16" | "bf16", values: ArrayLike<number>): Uint16Array {
  const enc = dtype === "f16" ? f32ToF16Bits : f32ToBf16Bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = enc(values[i]);
  return out;
}

/** Decode half-precision bits (`dtype` "f16" or "bf16") to f32 values. */
export function decodeHalf(dtype: "f16" | "bf16", bits: ArrayLike<number>): Float32Array {
  const dec = dtype === "f16" ? f16BitsToF32 : bf16BitsToF32;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = dec(bits[i]);
  return out;
}
