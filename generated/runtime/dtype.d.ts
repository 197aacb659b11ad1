/// <reference types="@webgpu/types" />
import type { DType } from "./manifest.js";
/** Bytes per element as stored in device memory. */
export declare function elementBytes(dtype: DType): number;
/** Bytes per element of a dtype named by a caller or a manifest; NaN for a name that is none. */
export declare function bytesOfName(name: string): number;
export declare function isFloat(dtype: DType): boolean;
/** Number of elements of a row-major shape (1 for a scalar shape []). */
export declare function elementCount(shape: readonly number[]): number;
/** Byte length of a tensor, before any padding a buffer may need. */
export declare function tensorBytes(dtype: DType, shape: readonly number[]): number;
