/// <reference types="@webgpu/types" />
/** Nearest f16 to `x` (ties to even), as its 16 bits. Overflow gives ±Inf; NaN stays a quiet NaN. */
export declare function f32ToF16Bits(x: number): number;
/** The f32 value of f16 bits `h` (exact: every f16 is representable in f32). */
export declare function f16BitsToF32(h: number): number;
/** Nearest bf16 to `x` (ties to even), as its 16 bits: the top half of the f32, rounded. */
export declare function f32ToBf16Bits(x: number): number;
/** The f32 value of bf16 bits `h` (exact). */
export declare function bf16BitsToF32(h: number): number;
/** Round f32 `x` to f16 precision and back: the value a kernel storing f16 would produce. */
export declare function roundToF16(x: number): number;
/** Round f32 `x` to bf16 precision and back. */
export declare function roundToBf16(x: number): number;
/** Encode numbers as half-precision bits (`dtype` "f16" or "bf16"). */
export declare function encodeHalf(dtype: "f16" | "bf16", values: ArrayLike<number>): Uint16Array;
/** Decode half-precision bits (`dtype` "f16" or "bf16") to f32 values. */
export declare function decodeHalf(dtype: "f16" | "bf16", bits: ArrayLike<number>): Float32Array;
