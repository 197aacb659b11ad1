import { resolve as resolvePath } from "node:path";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// The flashtile_cuda Node-API addon (addon/flashtile_cuda.c): its typed interface and how it is
// found. Loading it never needs CUDA; the addon's init() loads the driver (libcuda.so.1).

/** An opaque driver object owned by the addon; `kind` says which. Freed by its destroy call (or,
 *  failing that, when garbage-collected). */
export interface NativeHandle<K extends string = string> {
  readonly kind: K;
}
export type ModuleHandle = NativeHandle<"module">;
export type FunctionHandle = NativeHandle<"function">;
export type StreamHandle = NativeHandle<"stream">;
export type EventHandle = NativeHandle<"event">;
export type GraphHandle = NativeHandle<"graph">;
export type GraphExecHandle = NativeHandle<"graph exec">;

/** A stream argument: a stream, or null for the legacy default stream. */
export type StreamArg = StreamHandle | null | undefined;

/** What cuDeviceGetAttribute and friends say about a device. Attributes the driver does not
 *  report (deprecated clocks, say) are null. */
export interface CudaDeviceInfo {
  ordinal: number;
  name: string;
  /** Bytes of device memory. */
  totalMemory: number;
  /** "13.0": the CUDA version the driver supports. */
  driverVersion: string;
  computeCapabilityMajor: number;
  computeCapabilityMinor: number;
  multiprocessors: number;
  l2CacheBytes: number;
  maxPersistingL2Bytes: number | null;
  /** Shared memory a block may use without opting in (48 KiB). */
  maxSharedMemoryPerBlock: number;
  /** Shared memory a block may use once its function sets MAX_DYNAMIC_SHARED_SIZE_BYTES. */
  maxSharedMemoryPerBlockOptin: number;
  maxSharedMemoryPerMultiprocessor: number;
  reservedSharedMemoryPerBlock: number | null;
  maxThreadsPerBlock: number;
  maxThreadsPerMultiprocessor: number;
  maxBlocksPerMultiprocessor: number | null;
  maxRegistersPerBlock: number;
  maxRegistersPerMultiprocessor: number;
  totalConstantMemory: number;
  warpSize: number;
  clockRateKHz: number | null;
  memoryClockRateKHz: number | null;
  memoryBusWidthBits: number | null;
  pciBusId: number | null;
  pciDeviceId: number | null;
  maxBlockDim: [number, number, number];
  maxGridDim: [number, number, number];
}

/** Host memory a copy reads from or writes to. */
export type HostBytes = ArrayBufferView | ArrayBuffer;

/** The addon's functions. Device pointers are BigInt; driver errors throw an Error whose `code`
 *  is the CUDA error name and whose message names the call. */
export interface CudaAddon {
  readonly abiVersion: number;
  /** Load the driver and make device `ordinal`'s primary context current. */
  init(ordinal?: number): CudaDeviceInfo;
  isInitialized(): boolean;
  deviceCount(): number;
  deviceInfo(ordinal?: number): CudaDeviceInfo;
  /** cuCtxSynchronize: wait for all work on the current device. */
  synchronize(): void;

  memAlloc(bytes: number | bigint): bigint;
  memFree(ptr: bigint): void;
  memGetInfo(): { free: number; total: number };
  memcpyHtoD(dst: bigint, src: HostBytes, bytes?: number): void;
  memcpyDtoH(dst: HostBytes, src: bigint, bytes?: number): void;
  memcpyDtoD(dst: bigint, src: bigint, bytes: number | bigint): void;
  memcpyHtoDAsync(dst: bigint, src: HostBytes, bytes: number | undefined, stream: StreamArg): void;
  memcpyDtoHAsync(dst: HostBytes, src: bigint, bytes: number | undefined, stream: StreamArg): void;
  memcpyDtoDAsync(dst: bigint, src: bigint, bytes: number | bigint, stream: StreamArg): void;
  memsetD8(ptr: bigint, value: number, count: number | bigint): void;
  memsetD16(ptr: bigint, value: number, count: number | bigint): void;
  memsetD32(ptr: bigint, value: number, count: number | bigint): void;
  memsetD8Async(ptr: bigint, value: number, count: number | bigint, stream: StreamArg): void;
  memsetD16Async(ptr: bigint, value: number, count: number | bigint, stream: StreamArg): void;
  memsetD32Async(ptr: bigint, value: number, count: number | bigint, stream: StreamArg): void;

  /** PTX text (string or bytes) or a cubin/fatbin; a JIT failure's log is in the message. */
  moduleLoad(image: string | HostBytes): ModuleHandle;
  moduleUnload(module: ModuleHandle): void;
  moduleGetFunction(module: ModuleHandle, name: string): FunctionHandle;
  funcGetAttribute(fn: FunctionHandle, attribute: number): number;
  funcSetAttribute(fn: FunctionHandle, attribute: number, value: number): void;
  /** Byte size of each kernel parameter (cuFuncGetParamInfo), or null if the driver can't say. */
  funcParamSizes(fn: FunctionHandle): number[] | null;
  /** Each param: a BigInt device pointer, or bytes passed by value (a struct). */
  launch(
    fn: FunctionHandle,
    grid: readonly number[],
    block: readonly number[],
    sharedBytes: number,
    stream: StreamArg,
    params: readonly (bigint | ArrayBufferView)[],
  ): void;

  /**
   * Encode a CUtensorMap into `out` (128 bytes): a tensor of `dims` elements (innermost first) at
   * ptr, rows strideBytes apart, copied in boxes of `box`, swizzled per CUtensorMapSwizzle.
   */
  tensorMapEncodeTiled(
    out: Uint8Array,
    dataType: number,
    ptr: bigint,
    dims: readonly number[],
    strideBytes: readonly number[],
    box: readonly number[],
    swizzle: number,
  ): void;

  streamCreate(nonBlocking?: boolean): StreamHandle;
  streamSynchronize(stream: StreamArg): void;
  streamDestroy(stream: StreamHandle): void;
  streamWaitEvent(stream: StreamArg, event: EventHandle): void;
  streamBeginCapture(stream: StreamHandle, mode?: CaptureMode): void;
  streamEndCapture(stream: StreamHandle): GraphHandle;
  streamCaptureStatus(stream: StreamArg): "none" | "active" | "invalidated";

  eventCreate(timing?: boolean): EventHandle;
  eventRecord(event: EventHandle, stream: StreamArg): void;
  eventSynchronize(event: EventHandle): void;
  eventElapsedTime(start: EventHandle, end: EventHandle): number;
  eventDestroy(event: EventHandle): void;

  graphInstantiate(graph: GraphHandle, flags?: number | bigint): GraphExecHandle;
  graphLaunch(exec: GraphExecHandle, stream: StreamArg): void;
  graphNodeCount(graph: GraphHandle): number;
  graphDestroy(graph: GraphHandle): void;
  graphExecDestroy(exec: GraphExecHandle): void;
}

/** cuStreamBeginCapture modes: which other threads' unsafe calls invalidate the capture. */
export type CaptureMode = "global" | "thread_local" | "relaxed";

/** CUfunction_attribute values used by the runtime. */
export const FuncAttribute = {
  MAX_THREADS_PER_BLOCK: 0,
  SHARED_SIZE_BYTES: 1,
  CONST_SIZE_BYTES: 2,
  LOCAL_SIZE_BYTES: 3,
  NUM_REGS: 4,
  PTX_VERSION: 5,
  BINARY_VERSION: 6,
  MAX_DYNAMIC_SHARED_SIZE_BYTES: 8,
  PREFERRED_SHARED_MEMORY_CARVEOUT: 9,
} as const;

/** Where the build script puts the addon, relative to the repository root. */
export const ADDON_BUILD_PATH = "runtime/backends/cuda/addon/build/Release/flashtile_cuda.node";

export interface AddonOptions {
  /** Path of flashtile_cuda.node; default: $FLASHTILE_CUDA_ADDON, else the build output next to
   *  this file (addon/build/Release/flashtile_cuda.node). */
  addonPath?: string;
}

const loaded = new Map<string, CudaAddon>();

/** The addon's path for these options (see AddonOptions). */
export function addonPath(opts: AddonOptions = {}): string {
  const fromEnv = typeof process !== "undefined" ? process.env.FLASHTILE_CUDA_ADDON : undefined;
  if (opts.addonPath) return resolvePath(opts.addonPath);
  if (fromEnv) return resolvePath(fromEnv);
  return fileURLToPath(new URL("./addon/build/Release/flashtile_cuda.node", import.meta.url));
}

/** Load the addon (once per path). Needs no GPU; throws if the file is missing or not an addon. */
export function loadCudaAddon(opts: AddonOptions = {}): CudaAddon {
  const path = addonPath(opts);
  const cached = loaded.get(path);
  if (cached) return cached;
  if (!existsSync(path)) {
    throw new Error(
      `flashtile CUDA: the addon is not built (no ${path}); run: bash scripts/build-cuda-addon.sh ` +
        `(or point FLASHTILE_CUDA_ADDON at a built flashtile_cuda.node)`,
    );
  }
  const require = createRequire(import.meta.url);
  const addon = require(path) as CudaAddon;
  if (addon.abiVersion !== 1)
    throw new Error(`flashtile CUDA: ${path} has addon ABI ${addon.abiVersion}, this runtime needs 1: rebuild it`);
  loaded.set(path, addon);
  return addon;
}
