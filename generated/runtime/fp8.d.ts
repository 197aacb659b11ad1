/// <reference types="@webgpu/types" />
export declare const E4M3_MAX = 448;
export declare const E4M3_NAN = 127;
/**
 * Nearest E4M3 to `x` after rounding `x` to f32 (the conversion GPUs do from an f32 register),
 * ties to even, as its 8 bits. Out of range (|x| above 464, the midpoint between 448 and the
 * next would-be value, 480) and ±Infinity give NaN, as `__nv_cvt_float_to_fp8(x, __NV_NOSAT,
 * __NV_E4M3)` and torch do; with `saturate` they give ±448 instead (__NV_SATFINITE). NaN gives 0x7F.
 */
export declare function f32ToE4m3Bits(x: number, saturate?: boolean): number;
/** The value of E4M3 bits `b` (exact in f32). */
export declare function e4m3BitsToF32(b: number): number;
/** Round `x` to E4M3 and back. */
export declare function roundToE4m3(x: number, saturate?: boolean): number;
/**
 * `f32ToE4m3Bits` of every value, on the f32 bit patterns (tens of millions a second, where the
 * per-value routine above does a few million: a 64k-token cache is 10M values).
 */
export declare function encodeE4m3(values: ArrayLike<number>, saturate?: boolean): Uint8Array;
export declare function decodeE4m3(bits: ArrayLike<number>): Float32Array;
