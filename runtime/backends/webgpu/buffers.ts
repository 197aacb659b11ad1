/// <reference types="@webgpu/types" />
import type { DType } from "../../manifest.ts";
import { BufferUsage, MapMode } from "./constants.ts";
import { elementCount, tensorBytes } from "./dtype.ts";
import { decodeHalf, encodeHalf } from "./half.ts";
import { decodeE4m3, encodeE4m3 } from "../../fp8.ts";

// Host <-> GPU tensors for tests, benchmarks and simple callers: upload, poison, read back.
// Half-precision conversion lives in half.ts and timing in timing.ts; both re-exported here.
export * from "./half.ts";
export { timestamp, type Timing } from "./timing.ts";

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
export function createTensor<D extends DType>(
  device: GPUDevice,
  dtype: D,
  shape: readonly number[],
  data?: ArrayLike<number>,
  opts: { label?: string; usage?: number } = {},
): Tensor<D> {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`createTensor: bad shape [${shape.join(", ")}]`);
  const n = elementCount(shape);
  if (data !== undefined && data.length !== n) {
    throw new Error(
      `createTensor: ${dtype}[${shape.join(", ")}] has ${n} elements but data has ${data.length}`,
    );
  }
  // Buffer sizes are padded to 4 bytes (mapping and copies work in 4-byte units) and are never 0.
  const size = Math.max(4, Math.ceil(tensorBytes(dtype, shape) / 4) * 4);
  const buffer = device.createBuffer({
    label: opts.label,
    size,
    usage: opts.usage ?? BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    mappedAtCreation: data !== undefined,
  });
  if (data !== undefined) {
    const bytes = hostBytes(dtype, data);
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
  }
  return { buffer, dtype, shape: [...shape] };
}

function hostBytes(dtype: DType, data: ArrayLike<number>): Uint8Array {
  let arr: ArrayBufferView;
  switch (dtype) {
    case "f32":
      arr = data instanceof Float32Array ? data : Float32Array.from(data);
      break;
    case "i32":
    case "u32":
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(data[i]))
          throw new Error(`createTensor: ${dtype} data[${i}] = ${data[i]} is not an integer`);
      }
      arr =
        dtype === "i32"
          ? data instanceof Int32Array
            ? data
            : Int32Array.from(data)
          : data instanceof Uint32Array
            ? data
            : Uint32Array.from(data);
      break;
    case "f16":
    case "bf16":
      arr = data instanceof Uint16Array ? data : encodeHalf(dtype, data);
      break;
    case "f8e4m3":
      arr = data instanceof Uint8Array ? data : encodeE4m3(data);
      break;
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Poison bit patterns: a quiet NaN for floats (so unwritten outputs fail any comparison), and
 *  for integers 0x7FFFFFFF, an implausible index or length. Two halves (four fp8) per word. */
const POISON: Record<DType, number> = {
  f32: 0x7fc00000,
  f16: 0x7e007e00,
  bf16: 0x7fc07fc0,
  f8e4m3: 0x7f7f7f7f,
  i32: 0x7fffffff,
  u32: 0x7fffffff,
};

/** Fill the whole tensor buffer with the poison pattern (queued: takes effect at the next submit). */
export function poison(device: GPUDevice, tensor: Pick<Tensor, "buffer" | "dtype">): void {
  const size = tensor.buffer.size - (tensor.buffer.size % 4);
  // Write in chunks so that poisoning a large tensor does not need a host copy of its size.
  const chunk = new Uint32Array(Math.min(size, 1 << 22) / 4).fill(POISON[tensor.dtype]);
  for (let off = 0; off < size; off += chunk.byteLength) {
    const len = Math.min(chunk.byteLength, size - off);
    device.queue.writeBuffer(tensor.buffer, off, chunk, 0, len / 4);
  }
}

/** Read a tensor back to the host: f32 and halves as Float32Array, i32/u32 as Int32/Uint32Array. */
export async function readTensor<D extends DType>(
  device: GPUDevice,
  tensor: { buffer: GPUBuffer; dtype: D; shape: readonly number[] },
): Promise<HostArray<D>> {
  const n = elementCount(tensor.shape);
  const bytes = tensorBytes(tensor.dtype, tensor.shape);
  const copySize = Math.min(Math.ceil(bytes / 4) * 4, tensor.buffer.size - (tensor.buffer.size % 4));
  if (copySize < bytes)
    throw new Error(
      `readTensor: buffer of ${tensor.buffer.size} bytes is too small for ${tensor.dtype}[${tensor.shape.join(", ")}]`,
    );
  const staging = device.createBuffer({
    size: Math.max(4, copySize),
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
  });
  try {
    if (copySize > 0) {
      const encoder = device.createCommandEncoder({ label: "readTensor" });
      encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, copySize);
      device.queue.submit([encoder.finish()]);
    }
    await staging.mapAsync(MapMode.READ);
    const copy = staging.getMappedRange().slice(0, bytes); // own the bytes before unmapping
    staging.unmap();
    let out: Float32Array | Int32Array | Uint32Array;
    if (tensor.dtype === "f16" || tensor.dtype === "bf16")
      out = decodeHalf(tensor.dtype, new Uint16Array(copy, 0, n));
    else if (tensor.dtype === "f8e4m3") out = decodeE4m3(new Uint8Array(copy, 0, n));
    else if (tensor.dtype === "i32") out = new Int32Array(copy, 0, n);
    else if (tensor.dtype === "u32") out = new Uint32Array(copy, 0, n);
    else out = new Float32Array(copy, 0, n);
    return out as HostArray<D>;
  } finally {
    staging.destroy();
  }
}
