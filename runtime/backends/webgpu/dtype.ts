import type { DType } from "../../manifest.ts";

/** Bytes per element as stored in a GPU buffer (f16 and bf16 are packed two to a 32-bit word). */
export function elementBytes(dtype: DType): number {
  return dtype === "f16" || dtype === "bf16" ? 2 : 4;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16" || dtype === "bf16";
}

/** Number of elements of a row-major shape (1 for a scalar shape []). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte length of a tensor, before any padding a buffer may need. */
export function tensorBytes(dtype: DType, shape: readonly number[]): number {
  return elementCount(shape) * elementBytes(dtype);
}
