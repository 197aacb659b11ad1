/// <reference types="@webgpu/types" />
import type { DType } from "../../manifest.js";
/** Bytes per element as stored in a GPU buffer (f16 and bf16 are packed two to a 32-bit word). */
export declare function elementBytes(dtype: DType): number;
export declare function isFloat(dtype: DType): boolean;
/** Number of elements of a row-major shape (1 for a scalar shape []). */
export declare function elementCount(shape: readonly number[]): number;
/** Byte length of a tensor, before any padding a buffer may need. */
export declare function tensorBytes(dtype: DType, shape: readonly number[]): number;
