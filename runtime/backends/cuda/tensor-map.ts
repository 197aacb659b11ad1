import type { DType, KernelManifest, TensorArg, TensorMapSpec } from "../../manifest.ts";
import { elementBytes } from "./dtype.ts";

// Tensor maps for kernels that copy tiles with the Tensor Memory Accelerator (Hopper's TMA). The
// driver encodes each map (cuTensorMapEncodeTiled) from a tensor's address and shape; the kernel
// takes it by value after the parameter struct. What the driver is asked for is computed here,
// without a GPU, so its checks and messages are tested on every machine; encoding needs the
// addon.

/** The arguments of one cuTensorMapEncodeTiled call (dims and box innermost first). */
export interface TensorMapRequest {
  dataType: number;
  ptr: bigint;
  dims: [number, number];
  strideBytes: [number];
  box: [number, number];
  /** The driver's CUtensorMapSwizzle: 0 none, 1 32 bytes, 2 64, 3 128. */
  swizzle: number;
}

/** Something that turns a request into the 128 bytes of a CUtensorMap (the addon, or a test's fake). */
export type TensorMapEncoder = (req: TensorMapRequest) => Uint8Array;

// CUtensorMapDataType; fp8 is moved as bytes.
const DATA_TYPE: Record<DType, number> = { f8e4m3: 0, u32: 2, i32: 3, f16: 6, f32: 7, bf16: 9 };
const SWIZZLE: Record<TensorMapSpec["swizzle"], number> = { 0: 0, 32: 1, 64: 2, 128: 3 };

/**
 * The encode request for tensor map `spec` of `manifest` over the bound tensor at `ptr` of
 * `shape` (row-major), seen as [rows, its last `spec.rowDims` dims as one]. Throws, naming the kernel and tensor, where TMA
 * cannot copy it (its address or rows not 16-byte aligned, a box wider than its swizzle).
 */
export function tensorMapRequest(
  manifest: Pick<KernelManifest, "name">,
  spec: TensorMapSpec,
  arg: Pick<TensorArg, "name" | "dtype">,
  ptr: bigint,
  shape: readonly number[],
): TensorMapRequest {
  const fail = (msg: string): never => {
    throw new Error(`${manifest.name}: tensor '${arg.name}' is copied with TMA, but ${msg}`);
  };
  const split = Math.max(0, shape.length - (spec.rowDims ?? 1));
  const cols = shape.slice(split).reduce((a, b) => a * b, 1);
  const rows = shape.slice(0, split).reduce((a, b) => a * b, 1);
  const bytes = elementBytes(arg.dtype);
  if (ptr % 16n !== 0n) fail(`its address 0x${ptr.toString(16)} is not a multiple of 16 bytes`);
  if ((cols * bytes) % 16 !== 0) fail(`its rows are ${cols * bytes} bytes, not a multiple of 16 (${cols} elements x ${bytes})`);
  if (rows < 1 || cols < 1) fail(`it is empty (shape [${shape.join(", ")}])`);
  if (rows > 2 ** 32 || cols > 2 ** 32) fail(`it has ${rows} rows of ${cols}; TMA addresses at most 2^32 along each`);
  if (spec.swizzle && spec.box[0] * bytes > spec.swizzle)
    fail(`its box of ${spec.box[0]} columns is ${spec.box[0] * bytes} bytes, wider than its ${spec.swizzle}-byte swizzle`);
  return { dataType: DATA_TYPE[arg.dtype], ptr, dims: [cols, rows], strideBytes: [cols * bytes], box: [...spec.box], swizzle: SWIZZLE[spec.swizzle] };
}

/**
 * Encodes a kernel's tensor maps, keeping each one's last result: a decode loop binds the same
 * cache every step, so the driver is asked again only when a tensor's address or shape changes.
 */
export class TensorMapCache {
  private last = new Map<number, { key: string; map: Uint8Array }>();

  constructor(private readonly encode: TensorMapEncoder) {}

  get(index: number, req: TensorMapRequest): Uint8Array {
    const key = `${req.ptr}:${req.dims.join("x")}:${req.dataType}`;
    const hit = this.last.get(index);
    if (hit && hit.key === key) return hit.map;
    const map = this.encode(req);
    if (map.byteLength !== 128) throw new Error(`internal: a tensor map is 128 bytes, the encoder gave ${map.byteLength}`);
    this.last.set(index, { key, map });
    return map;
  }
}
