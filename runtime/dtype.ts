// Element types of tensors as stored on a device, shared by both runtimes: f16 and bf16 take two
// bytes, fp8 E4M3 one (see fp8.ts), everything else four.
import type { DType } from "./manifest.ts";

const BYTES: Readonly<Record<DType, number>> = { f32: 4, f16: 2, bf16: 2, f8e4m3: 1, i32: 4, u32: 4 };

/** Bytes per element as stored in device memory. */
export function elementBytes(dtype: DType): number {
  return BYTES[dtype];
}

/** Bytes per element of a dtype named by a caller or a manifest; NaN for a name that is none. */
export function bytesOfName(name: string): number {
  return Object.hasOwn(BYTES, name) ? BYTES[name as DType] : NaN;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16" || dtype === "bf16" || dtype === "f8e4m3";
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
