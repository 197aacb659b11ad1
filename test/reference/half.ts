/**
 * IEEE binary16 (f16) and bfloat16 conversions, round-to-nearest-even, with
 * subnormals, infinities and NaN.
 *
 * One generic encoder serves both formats. It works on the float64 value
 * with exact power-of-two scaling, so it rounds a float64 input *once*
 * (no double rounding through f32) and a Float32Array input exactly as
 * hardware f32 -> f16/bf16 conversion would.
 */

interface HalfFormat {
  mantBits: number; // stored fraction bits
  bias: number;
  expMax: number; // all-ones exponent field (inf / NaN)
  signBit: number; // position of the sign bit (always 15 here)
}

function format(expBits: number, mantBits: number): HalfFormat {
  return { mantBits, bias: 2 ** (expBits - 1) - 1, expMax: 2 ** expBits - 1, signBit: expBits + mantBits };
}

const F16 = format(5, 10);
const BF16 = format(8, 7);

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const frac = x - f; // exact: x has few enough significant bits here
  if (frac > 0.5) return f + 1;
  if (frac < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** floor(log2(a)) for finite a > 0, corrected for Math.log2 rounding. */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

function encode(x: number, fmt: HalfFormat): number {
  const { mantBits, bias, expMax, signBit } = fmt;
  const one = 1 << mantBits;
  // Canonical quiet NaN (sign and payload are not preserved).
  if (Number.isNaN(x)) return (expMax << mantBits) | (one >> 1);
  const sign = x < 0 || Object.is(x, -0) ? 1 << signBit : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << mantBits);
  const minNormalExp = 1 - bias;
  if (a < 2 ** minNormalExp) {
    // Subnormal: integer multiples of 2^(minNormalExp - mantBits). Rounding up
    // to `one` yields the smallest normal's encoding, which is correct as is.
    return sign | roundHalfEven(a * 2 ** (mantBits - minNormalExp));
  }
  let e = exponentOf(a);
  let frac = roundHalfEven((a / 2 ** e - 1) * one);
  if (frac === one) {
    frac = 0;
    e++;
  }
  if (e + bias >= expMax) return sign | (expMax << mantBits); // overflow -> inf
  return sign | ((e + bias) << mantBits) | frac;
}

function decode(bits: number, fmt: HalfFormat): number {
  const { mantBits, bias, expMax, signBit } = fmt;
  const sign = (bits >> signBit) & 1 ? -1 : 1;
  const exp = (bits >> mantBits) & expMax;
  const frac = bits & ((1 << mantBits) - 1);
  if (exp === expMax) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** (1 - bias - mantBits);
  return sign * (1 + frac / (1 << mantBits)) * 2 ** (exp - bias);
}

function encodeAll(xs: ArrayLike<number>, fmt: HalfFormat): Uint16Array {
  const out = new Uint16Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = encode(xs[i], fmt);
  return out;
}

function decodeAll(bits: ArrayLike<number>, fmt: HalfFormat): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i], fmt); // exact in f32
  return out;
}

export const toF16Bits = (xs: ArrayLike<number>): Uint16Array => encodeAll(xs, F16);
export const fromF16Bits = (bits: ArrayLike<number>): Float32Array => decodeAll(bits, F16);
/** The values an f16 kernel input would actually hold. */
export const roundToF16 = (xs: ArrayLike<number>): Float32Array => fromF16Bits(toF16Bits(xs));

export const toBf16Bits = (xs: ArrayLike<number>): Uint16Array => encodeAll(xs, BF16);
export const fromBf16Bits = (bits: ArrayLike<number>): Float32Array => decodeAll(bits, BF16);
export const roundToBf16 = (xs: ArrayLike<number>): Float32Array => fromBf16Bits(toBf16Bits(xs));
