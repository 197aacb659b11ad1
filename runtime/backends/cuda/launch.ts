import {
  bindTensorArgs,
  checkGridLimit,
  evalGrid,
  showShape,
  showValue,
  type Bound,
  type Grid,
  type TensorRules,
} from "../../args.ts";
import type { CudaTarget, KernelManifest, TensorArg } from "../../manifest.ts";
import { packUniforms } from "../webgpu/uniforms.ts";
import type { CudaDevice } from "./device.ts";
import type { TensorDType } from "./dtype.ts";
import type { DeviceBuffer } from "./memory.ts";
import type { CudaDeviceInfo, FunctionHandle, ModuleHandle } from "./native.ts";
import { streamHandle, type CudaStream } from "./stream.ts";
import { TensorMapCache, tensorMapRequest } from "./tensor-map.ts";

// Launching a loaded CUDA kernel: check the arguments with the same rules and messages as the
// WebGPU runtime (runtime/args.ts), pack the parameter struct exactly as WebGPU packs its uniform
// block (the manifest's uniforms.fields), evaluate the grid, and cuLaunchKernel with one device
// pointer per tensor then the struct by value. The pure steps are exported for tests and for the
// graph-replay executor, which prepares launches without running them.

export type { Grid } from "../../args.ts";

/**
 * A tensor argument: a DeviceBuffer holding a row-major, contiguous array of this shape (a
 * CudaTensor is one), or a raw device address (`bytes`, when given, is checked like a buffer's size).
 */
export type CudaTensorBinding =
  | { buffer: DeviceBuffer; shape: readonly number[]; dtype?: TensorDType }
  | { ptr: bigint; bytes?: number; shape: readonly number[]; dtype?: TensorDType };

export type CudaKernelArgs = Record<string, CudaTensorBinding | number>;

/** Constraint that lets generated code type each kernel's arguments with an interface. */
export type CudaArgsShape<A> = { [K in keyof A]: CudaTensorBinding | number };

export type CudaBoundArgs = Bound<CudaTensorBinding, TensorArg>;

/** The device address of a tensor argument. */
export function tensorPtr(t: CudaTensorBinding): bigint {
  return "buffer" in t && t.buffer !== undefined ? t.buffer.ptr : (t as { ptr: bigint }).ptr;
}

const DTYPE_ALIGN: Record<string, number> = { f32: 4, i32: 4, u32: 4, f16: 2, bf16: 2 };

/** The CUDA runtime's tensor arguments. */
export const cudaTensorRules: TensorRules<CudaTensorBinding> = {
  form: "{ buffer: DeviceBuffer, shape: number[] } or { ptr: bigint, shape: number[] }",
  accepts: (v) => "buffer" in v || "ptr" in v,
  checkMemory({ arg, value, bytes }, fail) {
    let ptr: bigint;
    let capacity: number | undefined;
    if ("buffer" in value && value.buffer !== undefined) {
      if ("ptr" in value) fail(`argument '${arg.name}' has both buffer and ptr; give one`);
      const buf = value.buffer as Partial<DeviceBuffer>;
      if (typeof buf !== "object" || buf === null || typeof buf.bytes !== "number" || typeof buf.freed !== "boolean")
        fail(`argument '${arg.name}': buffer is not a DeviceBuffer, got ${showValue(value.buffer)}`);
      if (buf.freed) fail(`argument '${arg.name}': its DeviceBuffer was freed`);
      ptr = buf.ptr!;
      capacity = buf.bytes;
    } else {
      const v = value as { ptr: unknown; bytes?: unknown };
      if (typeof v.ptr !== "bigint" || v.ptr <= 0n || v.ptr >= 2n ** 64n)
        fail(`argument '${arg.name}': ptr must be a device address (a non-zero bigint), got ${showValue(v.ptr)}`);
      if (v.bytes !== undefined && (typeof v.bytes !== "number" || !Number.isInteger(v.bytes) || v.bytes < 0))
        fail(`argument '${arg.name}': bytes must be a non-negative integer, got ${showValue(v.bytes)}`);
      ptr = v.ptr as bigint;
      capacity = v.bytes as number | undefined;
    }
    if (capacity !== undefined && capacity < bytes) {
      fail(
        `argument '${arg.name}' (${arg.dtype}${showShape(value.shape)}) needs a buffer of at least ${bytes} bytes ` +
          `but its buffer has ${capacity} bytes`,
      );
    }
    const align = DTYPE_ALIGN[arg.dtype] ?? 1;
    if (ptr % BigInt(align) !== 0n)
      fail(`argument '${arg.name}': device address 0x${ptr.toString(16)} is not aligned to ${align} bytes for ${arg.dtype}`);
  },
  // CUDA does not forbid aliasing, but generated kernels mark their pointers __restrict__: a
  // written tensor must not overlap any other tensor of the launch.
  conflict(a, b) {
    const bufA = "buffer" in a.value ? a.value.buffer : undefined;
    const bufB = "buffer" in b.value ? b.value.buffer : undefined;
    if (bufA !== undefined && bufA === bufB) return "share one buffer";
    if (a.bytes === 0 || b.bytes === 0) return undefined;
    const [pa, pb] = [tensorPtr(a.value), tensorPtr(b.value)];
    return pa < pb + BigInt(b.bytes) && pb < pa + BigInt(a.bytes) ? "overlap in device memory" : undefined;
  },
};

/** Check `args` against `manifest` and infer its runtime dimensions; throws on any mismatch. */
export function bindCudaArgs(manifest: KernelManifest, args: Record<string, unknown>): CudaBoundArgs {
  return bindTensorArgs(manifest, args, cudaTensorRules);
}

/** The by-value parameter struct: the same bytes WebGPU's uniform block gets, laid out by
 *  `cuda.uniforms` (4-byte little-endian fields at their offsets, zero elsewhere). */
export function packParams(
  manifest: Pick<KernelManifest, "name">,
  cuda: Pick<CudaTarget, "uniforms">,
  bound: Pick<CudaBoundArgs, "dims" | "scalars">,
): Uint8Array<ArrayBuffer> {
  // packUniforms reads only size and fields; the binding is WGSL's and unused here.
  return packUniforms(manifest.name, { binding: -1, ...cuda.uniforms }, bound);
}

/** Device limits a launch is checked against. */
export type LaunchLimits = Pick<CudaDeviceInfo, "maxGridDim">;

const GRID_LIMIT_NAMES = ["maxGridDimX", "maxGridDimY", "maxGridDimZ"];

/** The grid (blocks per axis, padded to 3) for bound arguments, checked against the device's maximum. */
export function cudaGrid(manifest: KernelManifest, bound: Pick<CudaBoundArgs, "dims" | "scalars">, limits: LaunchLimits): Grid {
  const grid = evalGrid(manifest, bound);
  checkGridLimit(manifest, grid, limits.maxGridDim, "blocks", (i) => GRID_LIMIT_NAMES[i]);
  return grid;
}

/** Everything cuLaunchKernel needs for one launch, computed without a GPU. */
export interface PreparedLaunch {
  grid: Grid;
  block: [number, number, number];
  sharedBytes: number;
  /** One device pointer per tensor in manifest order, then the parameter struct, then each tensor map. */
  params: (bigint | Uint8Array)[];
  bound: CudaBoundArgs;
}

/**
 * Check `args` and lay out a launch of `manifest` (throws the same errors `launch` would). A
 * kernel that copies tensors with TMA (cuda.tensorMaps) needs `maps` to encode their tensor
 * maps (a loaded kernel's own cache; a test's fake).
 */
export function prepareLaunch(
  manifest: KernelManifest,
  args: Record<string, unknown>,
  limits: LaunchLimits,
  maps?: Pick<TensorMapCache, "get">,
): PreparedLaunch {
  const cuda = manifest.cuda;
  if (!cuda) throw new Error(`${manifest.name}: bad manifest: no CUDA target (manifest.cuda is missing)`);
  const bound = bindCudaArgs(manifest, args);
  checkAlignment(manifest, cuda, bound);
  const grid = cudaGrid(manifest, bound, limits);
  const params: (bigint | Uint8Array)[] = bound.tensors.map((t) => tensorPtr(t.value));
  params.push(packParams(manifest, cuda, bound));
  for (const [i, spec] of (cuda.tensorMaps ?? []).entries()) {
    const t = bound.tensors.find((b) => b.arg.name === spec.tensor);
    if (!t) throw new Error(`${manifest.name}: bad manifest: tensorMaps[${i}] names tensor '${spec.tensor}', which the kernel does not take`);
    if (!maps) throw new Error(`${manifest.name}: copies '${spec.tensor}' with TMA, so its launch needs a tensor-map encoder (a loaded kernel's)`);
    params.push(maps.get(i, tensorMapRequest(manifest, spec, t.arg, tensorPtr(t.value), t.value.shape)) as Uint8Array);
  }
  return { grid, block: [...cuda.blockDim], sharedBytes: cuda.sharedBytes, params, bound };
}

/**
 * Throw, naming the argument, where a tensor's address is not the multiple the kernel accesses it
 * in (cuda.align: 16-byte copies, two-element stores); a misaligned access would stop the GPU.
 */
function checkAlignment(manifest: KernelManifest, cuda: CudaTarget, bound: CudaBoundArgs): void {
  for (const t of bound.tensors) {
    const need = cuda.align?.[t.arg.name];
    if (!need || t.value.shape.some((n) => n === 0)) continue; // nothing of it is accessed
    const ptr = tensorPtr(t.value);
    if (ptr % BigInt(need) !== 0n)
      throw new Error(
        `${manifest.name}: argument '${t.arg.name}': device address 0x${ptr.toString(16)} is not a multiple of ${need} bytes, ` +
          `which this kernel reads or writes it in (hint: pass the start of an allocation or a view whose offset is a multiple of ${need} bytes)`,
      );
  }
}

export interface CudaLaunchOptions {
  /** Queue the launch on this stream (default: the legacy default stream). */
  stream?: CudaStream | null;
}

/**
 * A CUDA kernel loaded from PTX or a cubin, ready to launch. `Args` types the arguments:
 * generated declarations can give each kernel its own, e.g.
 * `LoadedCudaKernel<{ q: CudaTensorBinding; k: CudaTensorBinding; scale: number }>`.
 */
export class LoadedCudaKernel<Args extends CudaArgsShape<Args> = CudaKernelArgs> {
  readonly name: string;
  readonly cuda: CudaTarget;
  private unloaded = false;
  /** This kernel's tensor maps (cuda.tensorMaps), re-encoded only when their tensors change. */
  private readonly maps: TensorMapCache;

  constructor(
    readonly device: CudaDevice,
    readonly manifest: KernelManifest,
    readonly module: ModuleHandle,
    readonly fn: FunctionHandle,
    /** The architecture of the code that was loaded ("sm_80"), when known. */
    readonly arch?: string,
  ) {
    this.name = manifest.name;
    this.cuda = manifest.cuda!;
    // Only Hopper's code (sm_90a) copies with TMA; a build that also ships portable PTX takes the
    // maps as parameters there too but never reads them, so off Hopper they are zeros and the
    // driver (whose tensor maps need Hopper) is not asked.
    const tma = arch === undefined || arch === "sm_90a";
    this.maps = new TensorMapCache((req) => {
      const out = new Uint8Array(128);
      if (tma) device.addon.tensorMapEncodeTiled(out, req.dataType, req.ptr, req.dims, req.strideBytes, req.box, req.swizzle);
      return out;
    });
  }

  /** Check `args`, queue the kernel, and return the grid used (blocks per axis). */
  launch(args: Args, opts: CudaLaunchOptions = {}): Grid {
    if (this.unloaded) throw new Error(`${this.name}: launched after destroy()`);
    const p = prepareLaunch(this.manifest, args as unknown as Record<string, unknown>, this.device.info, this.maps);
    if (p.grid.includes(0)) return p.grid; // nothing to do (and CUDA refuses empty grids)
    try {
      this.device.addon.launch(this.fn, p.grid, p.block, p.sharedBytes, streamHandle(opts.stream), p.params);
    } catch (e) {
      throw prefixed(this.name, e);
    }
    return p.grid;
  }

  /** Registers, local memory and static shared memory the driver reports for this kernel. */
  get resources(): { registers: number; localBytes: number; staticSharedBytes: number; maxThreadsPerBlock: number } {
    const a = this.device.addon;
    return {
      registers: a.funcGetAttribute(this.fn, 4),
      localBytes: a.funcGetAttribute(this.fn, 3),
      staticSharedBytes: a.funcGetAttribute(this.fn, 1),
      maxThreadsPerBlock: a.funcGetAttribute(this.fn, 0),
    };
  }

  /** Unload the module. Queued launches still complete; graphs that captured it must be destroyed first. */
  destroy(): void {
    if (this.unloaded) return;
    this.unloaded = true;
    this.device.addon.moduleUnload(this.module);
  }
}

/** The same error with "<kernel>: " in front (code and cause kept). */
export function prefixed(name: string, e: unknown): Error {
  if (!(e instanceof Error)) return new Error(`${name}: ${String(e)}`);
  const out = new Error(`${name}: ${e.message}`, { cause: e });
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) (out as { code?: unknown }).code = code;
  return out;
}
