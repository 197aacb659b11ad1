import { decodeHalf, encodeHalf } from "../webgpu/half.ts";
import type { CudaDevice } from "./device.ts";
import { decodeE4m3, elementBytes, elementCount, encodeE4m3, tensorBytes, type TensorDType } from "./dtype.ts";
import { streamHandle, type CudaStream } from "./stream.ts";

// Device memory: DeviceBuffer (an allocation you free), and host <-> device tensors for tests,
// benchmarks and simple callers (create, poison, read back).
//
// Ordering: calls without `{ stream }` use the legacy default stream and return once their work
// is done or safely queued there; pass the stream you launch on when using non-blocking streams.

/** Frees a buffer that was garbage-collected without free(): a safety net, not the API. */
const leaked =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<{ device: CudaDevice; ptr: bigint }>(({ device, ptr }) => {
        try {
          device.addon.memFree(ptr);
        } catch {
          // the context may be gone at exit; nothing to do
        }
      })
    : undefined;

/** One cuMemAlloc allocation. `free()` it when done; using it afterwards throws. */
export class DeviceBuffer {
  private address: bigint;
  private isFreed = false;

  /** Allocate `bytes` bytes of device memory (at least 1 is allocated, so `ptr` is never 0). */
  constructor(
    readonly device: CudaDevice,
    readonly bytes: number,
  ) {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`DeviceBuffer: bad size ${bytes}`);
    this.address = device.addon.memAlloc(Math.max(1, bytes));
    leaked?.register(this, { device, ptr: this.address }, this);
  }

  /** The device address (256-byte aligned). */
  get ptr(): bigint {
    if (this.isFreed) throw new Error("DeviceBuffer: used after free()");
    return this.address;
  }

  get freed(): boolean {
    return this.isFreed;
  }

  /** Free the memory now (cuMemFree). Idempotent. Work still reading it must be finished. */
  free(): void {
    if (this.isFreed) return;
    this.isFreed = true;
    leaked?.unregister(this);
    this.device.addon.memFree(this.address);
  }

  /** Copy host bytes into the buffer at `offset`. Without a stream the copy has finished on return. */
  upload(data: ArrayBufferView, opts: { offset?: number; stream?: CudaStream | null } = {}): void {
    const offset = opts.offset ?? 0;
    this.checkRange("upload", offset, data.byteLength);
    const dst = this.ptr + BigInt(offset);
    if (opts.stream) this.device.addon.memcpyHtoDAsync(dst, data, data.byteLength, opts.stream.handle);
    else {
      this.device.addon.memcpyHtoD(dst, data);
      // A pageable upload returns once staged; wait for the DMA so later work on any stream sees it.
      this.device.addon.streamSynchronize(null);
    }
  }

  /** Copy bytes from the buffer at `offset` into `out` (its whole length); finished on return. */
  download(out: ArrayBufferView, opts: { offset?: number; stream?: CudaStream | null } = {}): void {
    const offset = opts.offset ?? 0;
    this.checkRange("download", offset, out.byteLength);
    const src = this.ptr + BigInt(offset);
    if (opts.stream) {
      this.device.addon.memcpyDtoHAsync(out, src, out.byteLength, opts.stream.handle);
      opts.stream.synchronize();
    } else {
      this.device.addon.memcpyDtoH(out, src);
    }
  }

  /** Copy `bytes` bytes from `src` (device to device). */
  copyFrom(src: DeviceBuffer, bytes = Math.min(src.bytes, this.bytes), opts: { stream?: CudaStream | null } = {}): void {
    this.checkRange("copyFrom", 0, bytes);
    if (bytes > src.bytes) throw new Error(`DeviceBuffer.copyFrom: ${bytes} bytes but the source has ${src.bytes}`);
    if (opts.stream) this.device.addon.memcpyDtoDAsync(this.ptr, src.ptr, bytes, opts.stream.handle);
    else this.device.addon.memcpyDtoD(this.ptr, src.ptr, bytes);
  }

  private checkRange(what: string, offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > this.bytes)
      throw new Error(`DeviceBuffer.${what}: bytes [${offset}, ${offset + length}) are outside the buffer's ${this.bytes}`);
  }
}

/** A device tensor: usable directly as a kernel argument. */
export interface CudaTensor<D extends TensorDType = TensorDType> {
  buffer: DeviceBuffer;
  dtype: D;
  shape: number[];
}

/** What readTensor returns: floats (halves and fp8 decoded) as Float32Array, ints as Int32/Uint32Array. */
export type CudaHostArray<D extends TensorDType> = D extends "i32" ? Int32Array : D extends "u32" ? Uint32Array : Float32Array;

/**
 * Allocate a tensor, and fill it with `data` or else zeros; without `stream` the fill has
 * finished on return, with one it is queued there. For f16/bf16 a Uint16Array is taken
 * as raw bits and for f8e4m3 a Uint8Array; anything else as values, converted with
 * round-to-nearest-even. Other dtypes take values.
 */
export function createTensor<D extends TensorDType>(
  device: CudaDevice,
  dtype: D,
  shape: readonly number[],
  data?: ArrayLike<number>,
  opts: { stream?: CudaStream | null } = {},
): CudaTensor<D> {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`createTensor: bad shape [${shape.join(", ")}]`);
  const n = elementCount(shape);
  if (data !== undefined && data.length !== n)
    throw new Error(`createTensor: ${dtype}[${shape.join(", ")}] has ${n} elements but data has ${data.length}`);
  const bytes = hostBytes(dtype, data); // before allocating: a bad value allocates nothing
  const buffer = new DeviceBuffer(device, tensorBytes(dtype, shape));
  try {
    if (bytes) buffer.upload(bytes, { stream: opts.stream });
    else if (buffer.bytes > 0) {
      if (opts.stream) device.addon.memsetD8Async(buffer.ptr, 0, buffer.bytes, opts.stream.handle);
      else {
        // A device memset is asynchronous even in its "synchronous" form: finish it, so work on
        // any stream (non-blocking ones included) sees zeros.
        device.addon.memsetD8(buffer.ptr, 0, buffer.bytes);
        device.addon.streamSynchronize(null);
      }
    }
  } catch (e) {
    buffer.free();
    throw e;
  }
  return { buffer, dtype, shape: [...shape] };
}

function hostBytes(dtype: TensorDType, data: ArrayLike<number> | undefined): Uint8Array | undefined {
  if (data === undefined) return undefined;
  let arr: ArrayBufferView;
  switch (dtype) {
    case "f32":
      arr = data instanceof Float32Array ? data : Float32Array.from(data);
      break;
    case "i32":
    case "u32":
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(data[i])) throw new Error(`createTensor: ${dtype} data[${i}] = ${data[i]} is not an integer`);
      }
      arr = dtype === "i32" ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Uint32Array ? data : Uint32Array.from(data);
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

/** Poison patterns: a quiet NaN for floats (so an unwritten output fails any comparison), and
 *  0x7FFFFFFF for integers, an implausible index or length. */
export const POISON: Record<TensorDType, { width: 1 | 2 | 4; value: number }> = {
  f32: { width: 4, value: 0x7fc00000 },
  f16: { width: 2, value: 0x7e00 },
  bf16: { width: 2, value: 0x7fc0 },
  f8e4m3: { width: 1, value: 0x7f },
  i32: { width: 4, value: 0x7fffffff },
  u32: { width: 4, value: 0x7fffffff },
};

/** Fill the whole buffer of `tensor` with its dtype's poison (queued on `stream`, or the default stream). */
export function poison(device: CudaDevice, tensor: Pick<CudaTensor, "buffer" | "dtype">, opts: { stream?: CudaStream | null } = {}): void {
  const { width, value } = POISON[tensor.dtype];
  const count = Math.floor(tensor.buffer.bytes / width);
  if (count === 0) return;
  const a = device.addon;
  const ptr = tensor.buffer.ptr;
  const s = streamHandle(opts.stream);
  if (width === 1) a.memsetD8Async(ptr, value, count, s);
  else if (width === 2) a.memsetD16Async(ptr, value, count, s);
  else a.memsetD32Async(ptr, value, count, s);
}

/**
 * Read a tensor back: f32, halves and fp8 as Float32Array, i32/u32 as Int32Array/Uint32Array.
 * Waits for `stream`'s work first, or without one for all work on the device.
 */
export function readTensor<D extends TensorDType>(
  device: CudaDevice,
  tensor: { buffer: DeviceBuffer; dtype: D; shape: readonly number[] },
  opts: { stream?: CudaStream | null } = {},
): CudaHostArray<D> {
  const n = elementCount(tensor.shape);
  const bytes = n * elementBytes(tensor.dtype);
  if (bytes > tensor.buffer.bytes)
    throw new Error(`readTensor: buffer of ${tensor.buffer.bytes} bytes is too small for ${tensor.dtype}[${tensor.shape.join(", ")}]`);
  const raw = new Uint8Array(bytes);
  if (!opts.stream) device.synchronize();
  if (bytes > 0) tensor.buffer.download(raw, { stream: opts.stream });
  let out: Float32Array | Int32Array | Uint32Array;
  switch (tensor.dtype) {
    case "f16":
    case "bf16":
      out = decodeHalf(tensor.dtype, new Uint16Array(raw.buffer, 0, n));
      break;
    case "f8e4m3":
      out = decodeE4m3(raw);
      break;
    case "i32":
      out = new Int32Array(raw.buffer, 0, n);
      break;
    case "u32":
      out = new Uint32Array(raw.buffer, 0, n);
      break;
    default:
      out = new Float32Array(raw.buffer, 0, n);
  }
  return out as CudaHostArray<D>;
}

/** Copy new contents into an existing tensor (same encoding rules as createTensor). */
export function writeTensor(
  device: CudaDevice,
  tensor: Pick<CudaTensor, "buffer" | "dtype" | "shape">,
  data: ArrayLike<number>,
  opts: { stream?: CudaStream | null } = {},
): void {
  const n = elementCount(tensor.shape);
  if (data.length !== n)
    throw new Error(`writeTensor: ${tensor.dtype}[${tensor.shape.join(", ")}] has ${n} elements but data has ${data.length}`);
  const bytes = hostBytes(tensor.dtype, data)!;
  if (bytes.byteLength > 0) tensor.buffer.upload(bytes, { stream: opts.stream });
}
