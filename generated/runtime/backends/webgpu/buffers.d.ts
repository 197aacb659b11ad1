/// <reference types="@webgpu/types" />
import type { DType } from "../../manifest.js";
export * from "./half.js";
export { timestamp, type Timing } from "./timing.js";
/** A GPU tensor: usable directly as a kernel argument (it is a TensorBinding). */
export interface Tensor<D extends DType = DType> {
  buffer: GPUBuffer;
  dtype: D;
  shape: number[];
}
/** What readTensor returns for each dtype: halves come back decoded to f32. */
export type HostArray<D extends DType> = D extends "i32"
  ? Int32Array
  : D extends "u32"
    ? Uint32Array
    : Float32Array;
/**
 * Create a tensor, optionally with data. For f16/bf16, a Uint16Array is taken as raw bits and
 * anything else as values, converted with round-to-nearest-even; likewise for f8e4m3 with a
 * Uint8Array (values out of its range become NaN, as a cast would); other dtypes take values.
 */
export declare function createTensor<D extends DType>(
  device: GPUDevice,
  dtype: D,
  shape: readonly number[],
  data?: ArrayLike<number>,
  opts?: {
    label?: string;
    usage?: number;
  },
): Tensor<D>;
/** Fill the whole tensor buffer with the poison pattern (queued: takes effect at the next submit). */
export declare function poison(device: GPUDevice, tensor: Pick<Tensor, "buffer" | "dtype">): void;
/** Read a tensor back to the host: f32 and halves as Float32Array, i32/u32 as Int32/Uint32Array. */
export declare function readTensor<D extends DType>(
  device: GPUDevice,
  tensor: {
    buffer: GPUBuffer;
    dtype: D;
    shape: readonly number[];
  },
): Promise<HostArray<D>>;
