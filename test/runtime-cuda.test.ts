// The CUDA runtime without a GPU: the addon builds, loads, and fails init() with one clear error
// when there is no driver; every pure step of a launch (argument checks with the WebGPU runtime's
// messages, dims inference, the by-value param struct byte for byte, the grid) against
// hand-written manifests; fp8 E4M3 over all 256 codes; and the whole runtime end to end over a
// fake libcuda (runtime/backends/cuda/testing/fake_libcuda.c, host memory and a CPU axpy).
// What needs a real GPU is in runtime/backends/cuda/selftest.mjs, run on a GPU machine.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { KernelManifest } from "../runtime/manifest.ts";
import { bindArgs as bindGpuArgs, packUniforms } from "../runtime/backends/webgpu/index.ts";
import {
  ADDON_BUILD_PATH,
  bindCudaArgs,
  captureGraph,
  checkCudaManifest,
  choosePtxArch,
  createStream,
  createTensor,
  cudaGrid,
  DeviceBuffer,
  e4m3BitsToF32,
  f32ToE4m3Bits,
  FuncAttribute,
  getCudaDevice,
  loadCudaAddon,
  loadKernel,
  LoadedCudaKernel,
  normalizeImage,
  packParams,
  POISON,
  poison,
  prepareLaunch,
  ptxEntryParamSizes,
  readTensor,
  roundToE4m3,
  timeEvents,
  writeTensor,
  type CudaDevice,
  type CudaDeviceInfo,
} from "../runtime/backends/cuda/index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const addonFile = join(root, ADDON_BUILD_PATH);
const selftestDir = join(root, "runtime/backends/cuda/selftest");
const axpy = JSON.parse(readFileSync(join(selftestDir, "axpy.manifest.json"), "utf8")) as KernelManifest;
const axpyPtx = readFileSync(join(selftestDir, "axpy.sm_80.ptx"), "utf8");
const work = mkdtempSync(join(tmpdir(), "flashtile-cuda-"));
const fakeLib = join(work, "libcuda-fake.so");

const NO_DRIVER = (lib: string, why: string): string =>
  `flashtile CUDA: cannot load ${lib} (${why}): this needs an NVIDIA GPU and driver; use the WebGPU backend otherwise`;

beforeAll(() => {
  if (!existsSync(addonFile)) execFileSync("bash", [join(root, "scripts/build-cuda-addon.sh")], { cwd: root, stdio: "pipe" });
  execFileSync("cc", ["-shared", "-fPIC", "-O1", "-o", fakeLib, join(root, "runtime/backends/cuda/testing/fake_libcuda.c"), "-lm"]);
}, 300_000);

// ---------------------------------------------------------------------------------------------
// Limits of a typical device, for the pure tests (no driver involved).
const H100ish: CudaDeviceInfo = {
  ordinal: 0,
  name: "test device",
  totalMemory: 80 * 2 ** 30,
  driverVersion: "13.0",
  computeCapabilityMajor: 9,
  computeCapabilityMinor: 0,
  multiprocessors: 132,
  l2CacheBytes: 50 * 2 ** 20,
  maxPersistingL2Bytes: null,
  maxSharedMemoryPerBlock: 49152,
  maxSharedMemoryPerBlockOptin: 232448,
  maxSharedMemoryPerMultiprocessor: 233472,
  reservedSharedMemoryPerBlock: 1024,
  maxThreadsPerBlock: 1024,
  maxThreadsPerMultiprocessor: 2048,
  maxBlocksPerMultiprocessor: 32,
  maxRegistersPerBlock: 65536,
  maxRegistersPerMultiprocessor: 65536,
  totalConstantMemory: 65536,
  warpSize: 32,
  clockRateKHz: null,
  memoryClockRateKHz: null,
  memoryBusWidthBits: 5120,
  pciBusId: 0,
  pciDeviceId: 0,
  maxBlockDim: [1024, 1024, 64],
  maxGridDim: [2 ** 31 - 1, 65535, 65535],
};

/** A paged-attention-shaped signature: a dim seen only as `batch + 1`, an i32 and an f32 scalar,
 *  u32 and i32 fields, a 3-axis grid and fields out of declaration order with a gap. */
const paged: KernelManifest = {
  name: "paged.test",
  kernel: "paged",
  source: { file: "test/runtime-cuda.test.ts", line: 1 },
  params: {},
  tuned: [],
  tensors: [
    { name: "q", binding: 0, dtype: "bf16", shape: ["tokens", "heads", 64], access: "read", perStep: false },
    { name: "page_table", binding: 1, dtype: "i32", shape: ["batch", "pages"], access: "read", perStep: true },
    { name: "cu_seqlens_q", binding: 2, dtype: "i32", shape: [{ op: "add", args: ["batch", 1] }], access: "read", perStep: true },
    { name: "out", binding: 3, dtype: "f32", shape: ["tokens", "heads", 64], access: "read_write", perStep: false },
  ],
  scalars: [
    { name: "max_seqlen_q", dtype: "i32", perStep: true },
    { name: "scale", dtype: "f32", perStep: false },
  ],
  dims: ["tokens", "heads", "batch", "pages"],
  grid: ["batch", "heads", { op: "ceil_div", args: ["max_seqlen_q", 16] }],
  gridAxes: ["b", "h", "m"],
  cuda: {
    file: "paged.cu",
    ptx: { sm_80: "paged.sm_80.ptx", sm_90a: "paged.sm_90a.ptx" },
    entryPoint: "paged",
    blockDim: [128, 1, 1],
    sharedBytes: 0,
    uniforms: {
      size: 32,
      fields: [
        { name: "scale", type: "f32", offset: 0, from: "scalar" },
        { name: "max_seqlen_q", type: "i32", offset: 4, from: "scalar" },
        { name: "tokens", type: "u32", offset: 8, from: "dim" },
        { name: "heads", type: "u32", offset: 12, from: "dim" },
        { name: "batch", type: "i32", offset: 16, from: "dim" },
        { name: "pages", type: "u32", offset: 24, from: "dim" },
      ],
    },
  },
};

/** Raw-pointer bindings of the paged kernel's tensors (256-byte spaced allocations). */
function pagedArgs(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    q: { ptr: 0x7f0000000000n, bytes: 10 * 4 * 64 * 2, shape: [10, 4, 64] },
    page_table: { ptr: 0x7f0000100000n, bytes: 3 * 5 * 4, shape: [3, 5] },
    cu_seqlens_q: { ptr: 0x7f0000200000n, shape: [4] },
    out: { ptr: 0x7f0000300000n, bytes: 10 * 4 * 64 * 4, shape: [10, 4, 64] },
    max_seqlen_q: 40,
    scale: 0.125,
    ...over,
  };
}

describe("addon without a driver", () => {
  it("is built (by scripts/build-cuda-addon.sh) and loads with no CUDA on the machine", () => {
    const addon = loadCudaAddon();
    expect(addon.abiVersion).toBe(1);
    for (const fn of ["init", "memAlloc", "memcpyHtoDAsync", "memsetD32Async", "moduleLoad", "funcSetAttribute", "launch", "streamBeginCapture", "graphInstantiate", "eventElapsedTime"])
      expect(typeof (addon as unknown as Record<string, unknown>)[fn], fn).toBe("function");
    expect(addon.isInitialized()).toBe(false);
  });

  it("refuses calls before init with one message", () => {
    const addon = loadCudaAddon();
    expect(() => addon.memAlloc(16)).toThrow(/^flashtile CUDA: not initialized: call init\(deviceOrdinal\) first$/);
    expect(() => addon.launch({ kind: "function" }, [1], [1], 0, null, [])).toThrow(/not initialized/);
  });

  it("init throws exactly the no-driver message (a fresh process, default libcuda.so.1)", () => {
    const env = { ...process.env };
    delete env.FLASHTILE_CUDA_LIBCUDA;
    const script = `try { const i = require(${JSON.stringify(addonFile)}).init(0); console.log("DEVICE " + i.name) } catch (e) { console.log(e.message); console.log(e.code) }`;
    const [first, code] = execFileSync(process.execPath, ["-e", script], { env, encoding: "utf8" }).trim().split("\n");
    if (first.startsWith("DEVICE ")) {
      // A machine with an NVIDIA driver: init worked, which is the other half of the contract.
      expect(first.length).toBeGreaterThan(7);
      return;
    }
    const m = /^flashtile CUDA: cannot load libcuda\.so\.1 \((.+)\): this needs an NVIDIA GPU and driver; use the WebGPU backend otherwise$/.exec(first);
    expect(m, first).not.toBeNull();
    expect(first).toBe(NO_DRIVER("libcuda.so.1", m![1]));
    expect(m![1]).toContain("libcuda.so.1");
    expect(code).toBe("FLASHTILE_CUDA_NO_DRIVER");
  });

  it("getCudaDevice reports the same single error (driver path forced missing)", () => {
    process.env.FLASHTILE_CUDA_LIBCUDA = "/nonexistent/libcuda.so.1";
    try {
      let message = "(no error)";
      try {
        getCudaDevice();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toBe(NO_DRIVER("/nonexistent/libcuda.so.1", "/nonexistent/libcuda.so.1: cannot open shared object file: No such file or directory"));
      expect(loadCudaAddon().isInitialized()).toBe(false);
    } finally {
      delete process.env.FLASHTILE_CUDA_LIBCUDA;
    }
  });

  it("a missing addon is reported with the command that builds it", () => {
    expect(() => loadCudaAddon({ addonPath: join(work, "nope.node") })).toThrow(/the addon is not built .*run: bash scripts\/build-cuda-addon\.sh/);
  });

  it("builds with the plain-compiler fallback too", () => {
    const out = join(work, "fallback/flashtile_cuda.node");
    execFileSync("bash", [join(root, "scripts/build-cuda-addon.sh")], {
      cwd: root,
      env: { ...process.env, FLASHTILE_CUDA_BUILD: "cc", FLASHTILE_CUDA_ADDON_OUT: out },
      stdio: "pipe",
    });
    const r = execFileSync(process.execPath, ["-e", `const a = require(${JSON.stringify(out)}); console.log(a.abiVersion, typeof a.launch)`], { encoding: "utf8" });
    expect(r.trim()).toBe("1 function");
  }, 120_000);
});

describe("launch preparation (pure)", () => {
  it("packs the param struct exactly as the manifest lays it out (and as WebGPU packs its uniforms)", () => {
    const p = prepareLaunch(paged, pagedArgs(), H100ish);
    expect(p.bound.dims).toEqual({ tokens: 10, heads: 4, batch: 3, pages: 5 });
    expect(p.grid).toEqual([3, 4, 3]);
    expect(p.block).toEqual([128, 1, 1]);
    expect(p.params.slice(0, 4)).toEqual([0x7f0000000000n, 0x7f0000100000n, 0x7f0000200000n, 0x7f0000300000n]);
    const struct = p.params[4] as Uint8Array;
    // scale 0.125 = 0x3E000000, max_seqlen_q 40, tokens 10, heads 4, batch 3, gap, pages 5, gap
    expect([...struct]).toEqual([
      0x00, 0x00, 0x00, 0x3e, 40, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const asWgsl = { ...paged, wgsl: { file: "", entryPoint: "", workgroupSize: [1, 1, 1], requires: { features: [], workgroupStorageBytes: 0, invocations: 1 }, uniforms: { binding: 9, ...paged.cuda!.uniforms } } } as KernelManifest;
    expect([...packUniforms(paged.name, asWgsl.wgsl!.uniforms, p.bound)]).toEqual([...struct]);
  });

  it("packs the self-test kernel's struct (rows, cols, a, pad)", () => {
    const bound = { dims: { rows: 37, cols: 129 }, scalars: { a: -1.5 } };
    expect([...packParams(axpy, axpy.cuda!, bound)]).toEqual([37, 0, 0, 0, 129, 0, 0, 0, 0, 0, 0xc0, 0xbf, 0, 0, 0, 0]);
    expect(() => packParams(axpy, axpy.cuda!, { dims: { rows: 2 ** 32, cols: 1 }, scalars: { a: 1 } })).toThrow(
      "axpy.f32: uniform 'rows' = 4294967296 does not fit the kernel's u32 field",
    );
  });

  it("evaluates the grid and checks it against the device", () => {
    expect(cudaGrid(axpy, { dims: { rows: 37, cols: 129 }, scalars: { a: 1 } }, H100ish)).toEqual([19, 1, 1]);
    expect(() => prepareLaunch(paged, pagedArgs({ max_seqlen_q: 16 * 70000 }), H100ish)).toThrow(
      "paged.test: grid [3, 4, 70000] is too large: axis 'm' has 70000 blocks but maxGridDimZ is 65535",
    );
    expect(() => prepareLaunch(paged, pagedArgs({ max_seqlen_q: -16 }), H100ish)).toThrow("paged.test: grid [3, 4, -1] is not a list of non-negative integers");
  });

  it("the kernel launches one pointer per tensor then the struct, and skips an empty grid", () => {
    const launch = vi.fn();
    const device = { addon: { launch }, info: H100ish } as unknown as CudaDevice;
    const k = new LoadedCudaKernel(device, paged, { kind: "module" }, { kind: "function" });
    expect(k.launch(pagedArgs() as never)).toEqual([3, 4, 3]);
    expect(launch).toHaveBeenCalledTimes(1);
    const [fn, grid, block, shared, stream, params] = launch.mock.calls[0];
    expect(fn).toEqual({ kind: "function" });
    expect([grid, block, shared, stream]).toEqual([[3, 4, 3], [128, 1, 1], 0, null]);
    expect(params).toHaveLength(5);
    expect(params[4]).toBeInstanceOf(Uint8Array);
    expect(k.launch(pagedArgs({ max_seqlen_q: 0 }) as never)).toEqual([3, 4, 0]);
    expect(launch).toHaveBeenCalledTimes(1);
  });

  it("checks the manifest's CUDA target", () => {
    const m = (cuda: Partial<NonNullable<KernelManifest["cuda"]>>, over: Partial<KernelManifest> = {}): KernelManifest => ({ ...paged, ...over, cuda: { ...paged.cuda!, ...cuda } });
    expect(checkCudaManifest(paged)).toBe(paged.cuda);
    expect(() => checkCudaManifest({ ...paged, cuda: undefined })).toThrow("paged.test: bad manifest: no CUDA target (manifest.cuda is missing)");
    expect(() => checkCudaManifest(m({ blockDim: [64, 32, 1] }))).toThrow("paged.test: bad manifest: blockDim [64, 32, 1] has 2048 threads; CUDA allows at most 1024");
    expect(() => checkCudaManifest(m({ uniforms: { size: 32, fields: [{ name: "pages", type: "u32", offset: 30, from: "dim" }] } }))).toThrow(
      "paged.test: bad manifest: param struct field 'pages' at offset 30 does not fit a 32-byte block at 4-byte alignment",
    );
    expect(() => checkCudaManifest(m({ uniforms: { size: 8, fields: [{ name: "pages", type: "u32", offset: 0, from: "dim" }, { name: "batch", type: "u32", offset: 0, from: "dim" }] } }))).toThrow(
      "paged.test: bad manifest: two param struct fields share offset 0",
    );
    expect(() => checkCudaManifest(m({}, { grid: ["batch", "heads", "pages", "tokens"] }))).toThrow("paged.test: bad manifest: grid has 4 axes; CUDA launches 1 to 3");
    expect(() => checkCudaManifest(m({}, { grid: ["seqlen"] }))).toThrow("paged.test: bad manifest: grid mentions 'seqlen', which is neither a dim nor a scalar");
    expect(() => checkCudaManifest(m({ entryPoint: "not a name" }))).toThrow('paged.test: bad manifest: entry point "not a name" is not a kernel name');
  });

  it("picks the PTX for a device and reads an entry's parameter sizes", () => {
    const cc = (major: number, minor: number) => ({ computeCapabilityMajor: major, computeCapabilityMinor: minor });
    expect(choosePtxArch(["sm_80", "sm_90a"], cc(9, 0))).toBe("sm_90a");
    expect(choosePtxArch(["sm_80", "sm_90a"], cc(8, 6))).toBe("sm_80");
    expect(choosePtxArch(["sm_80", "sm_90a"], cc(10, 0))).toBe("sm_80");
    expect(choosePtxArch(["sm_80", "sm_86"], cc(8, 9))).toBe("sm_86");
    expect(() => choosePtxArch(["sm_80"], cc(7, 5))).toThrow("no PTX for this device (sm_75): the kernel was built for sm_80");
    // The committed PTX of the self-test kernel matches its manifest's ABI: 3 pointers + 16 bytes.
    expect(ptxEntryParamSizes(axpyPtx, "axpy")).toEqual([8, 8, 8, 16]);
    expect(ptxEntryParamSizes(axpyPtx, "nope")).toBeUndefined();
    expect(ptxEntryParamSizes(".visible .entry k(\n\t.param .u32 k_param_0,\n\t.param .align 8 .b8 k_param_1[40]\n)", "k")).toEqual([4, 40]);
    // Gzipped PTX (as the generated package stores it) is unpacked; cubins stay bytes.
    expect(normalizeImage(gzipSync(Buffer.from(axpyPtx)))).toBe(axpyPtx);
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    expect(normalizeImage(elf)).toBe(elf);
  });
});

describe("argument errors: the CUDA launcher says what the WebGPU launcher says", () => {
  // The same bad call through both runtimes' checkers; only the tensor form differs (a GPUBuffer
  // there, a device pointer here), and the messages must be identical.
  const gpu = (bytes: number) => ({ size: bytes, usage: 0x80 /* STORAGE */ });
  const gpuArgs = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    q: { buffer: gpu(10 * 4 * 64 * 2), shape: [10, 4, 64] },
    page_table: { buffer: gpu(60), shape: [3, 5] },
    cu_seqlens_q: { buffer: gpu(16), shape: [4] },
    out: { buffer: gpu(10 * 4 * 64 * 4), shape: [10, 4, 64] },
    max_seqlen_q: 40,
    scale: 0.125,
    ...over,
  });
  const both = (over: Record<string, [unknown, unknown] | unknown>) => {
    const g: Record<string, unknown> = {};
    const c: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(over)) {
      if (Array.isArray(v) && v.length === 2) [g[k], c[k]] = v;
      else g[k] = c[k] = v;
    }
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return "(no error)";
    };
    const mg = message(() => bindGpuArgs(paged, gpuArgs(g)));
    const mc = message(() => bindCudaArgs(paged, pagedArgs(c)));
    expect(mc).toBe(mg);
    return mc;
  };
  const sh = (shape: number[], bytes = 1 << 20): [unknown, unknown] => [
    { buffer: gpu(bytes), shape },
    { ptr: 0x7f0000400000n, bytes, shape },
  ];

  it.each([
    ["missing", { scale: undefined, out: undefined }, "paged.test: missing arguments 'out', 'scale' (the kernel takes q, page_table, cu_seqlens_q, out, max_seqlen_q, scale)"],
    ["unknown", { softcap: 1 }, "paged.test: unknown argument 'softcap' (the kernel takes q, page_table, cu_seqlens_q, out, max_seqlen_q, scale)"],
    ["scalar not finite", { scale: NaN }, "paged.test: scalar argument 'scale' (f32) must be a finite number, got NaN"],
    ["scalar not an i32", { max_seqlen_q: 2.5 }, "paged.test: scalar argument 'max_seqlen_q' must be a i32, got 2.5"],
    ["rank", { page_table: sh([15]) }, "paged.test: argument 'page_table' has shape [15] (rank 1) but the kernel expects [batch, pages] (rank 2)"],
    ["bad shape", { page_table: sh([3, -5]) }, "paged.test: argument 'page_table' has shape [3, -5], which is not a list of non-negative integers"],
    ["dim disagrees", { out: sh([10, 8, 64]) }, "paged.test: argument 'out' has shape [10, 8, 64] but the kernel expects [tokens, heads, 64], and heads = 4 from argument 'q'"],
    ["constant dim", { out: sh([10, 4, 128]) }, "paged.test: argument 'out' has shape [10, 4, 128] but the kernel expects [tokens, heads, 64], i.e. [10, 4, 64] with tokens = 10, heads = 4"],
    ["expression", { cu_seqlens_q: sh([3]) }, "paged.test: argument 'cu_seqlens_q' has shape [3] but the kernel expects [batch + 1], i.e. [4] with batch = 3"],
    ["not an object", { q: 7 }, "(form differs)"],
  ])("%s", (what, over, expected) => {
    if (what === "not an object") {
      expect(() => bindGpuArgs(paged, gpuArgs(over))).toThrow("paged.test: argument 'q' must be { buffer: GPUBuffer, shape: number[] }, got 7");
      expect(() => bindCudaArgs(paged, pagedArgs(over))).toThrow("paged.test: argument 'q' must be { buffer: DeviceBuffer, shape: number[] } or { ptr: bigint, shape: number[] }, got 7");
      return;
    }
    expect(both(over)).toBe(expected);
  });

  it("dtype, size and aliasing", () => {
    expect(both({ q: [{ buffer: gpu(5120), shape: [10, 4, 64], dtype: "f16" }, { ptr: 0x7f0000000000n, bytes: 5120, shape: [10, 4, 64], dtype: "f16" }] })).toBe(
      "paged.test: argument 'q' is f16 but the kernel expects bf16",
    );
    expect(both({ out: sh([10, 4, 64], 100) })).toBe(
      "paged.test: argument 'out' (f32[10, 4, 64]) needs a buffer of at least 10240 bytes but its buffer has 100 bytes",
    );
    const shared = gpu(1 << 20);
    const fake = { bytes: 1 << 20, freed: false, ptr: 0x7f0000500000n } as unknown as DeviceBuffer;
    expect(
      both({
        q: [{ buffer: shared, shape: [10, 4, 64] }, { buffer: fake, shape: [10, 4, 64] }],
        out: [{ buffer: shared, shape: [10, 4, 64] }, { buffer: fake, shape: [10, 4, 64] }],
      }),
    ).toBe("paged.test: arguments 'q' and 'out' share one buffer, but 'out' is written");
  });

  it("CUDA's own tensor checks", () => {
    const err = (over: Record<string, unknown>) => () => bindCudaArgs(paged, pagedArgs(over));
    expect(err({ q: { shape: [10, 4, 64] } })).toThrow(
      "paged.test: argument 'q' must be { buffer: DeviceBuffer, shape: number[] } or { ptr: bigint, shape: number[] }, got [object Object]",
    );
    expect(err({ q: { ptr: 4096, shape: [10, 4, 64] } })).toThrow("paged.test: argument 'q': ptr must be a device address (a non-zero bigint), got 4096");
    expect(err({ q: { ptr: 0x7f0000000001n, shape: [10, 4, 64] } })).toThrow("paged.test: argument 'q': device address 0x7f0000000001 is not aligned to 2 bytes for bf16");
    expect(err({ q: { buffer: { bytes: 1 << 20, freed: true, ptr: 1n }, shape: [10, 4, 64] } })).toThrow("paged.test: argument 'q': its DeviceBuffer was freed");
    expect(err({ q: { buffer: {}, shape: [10, 4, 64] } })).toThrow("paged.test: argument 'q': buffer is not a DeviceBuffer, got [object Object]");
    // Overlapping ranges of raw pointers, one of them written: 'out' starts inside 'q'.
    expect(err({ out: { ptr: 0x7f0000000100n, shape: [10, 4, 64] } })).toThrow("paged.test: arguments 'q' and 'out' overlap in device memory, but 'out' is written");
    // Adjacent, not overlapping: fine. Two read-only tensors may overlap.
    expect(() => bindCudaArgs(paged, pagedArgs({ out: { ptr: 0x7f0000000000n + 5120n, shape: [10, 4, 64] } }))).not.toThrow();
    expect(() => bindCudaArgs(paged, pagedArgs({ page_table: { ptr: 0x7f0000200000n, shape: [3, 5] } }))).not.toThrow();
  });
});

describe("fp8 E4M3 (OCP E4M3FN)", () => {
  const finiteCodes = [...Array(256).keys()].filter((c) => (c & 0x7f) !== 0x7f);

  it("decodes all 256 codes and encodes every finite one back to itself", () => {
    expect(Number.isNaN(e4m3BitsToF32(0x7f)) && Number.isNaN(e4m3BitsToF32(0xff))).toBe(true);
    expect(finiteCodes).toHaveLength(254);
    for (const c of finiteCodes) {
      const v = e4m3BitsToF32(c);
      expect(Number.isFinite(v), `code ${c}`).toBe(true);
      expect(f32ToE4m3Bits(v), `code 0x${c.toString(16)} = ${v}`).toBe(c);
    }
    expect([0x00, 0x80, 0x01, 0x07, 0x08, 0x38, 0x7e, 0xfe].map(e4m3BitsToF32)).toEqual([0, -0, 2 ** -9, 7 * 2 ** -9, 2 ** -6, 1, 448, -448]);
    const positives = finiteCodes.filter((c) => c < 0x80).map(e4m3BitsToF32);
    expect(positives).toEqual([...positives].sort((a, b) => a - b)); // codes are ordered like values
  });

  it("rounds to nearest, ties to even, at every midpoint between neighbouring codes", () => {
    for (let c = 0; c < 0x7e; c++) {
      const lo = e4m3BitsToF32(c), hi = e4m3BitsToF32(c + 1);
      const mid = (lo + hi) / 2;
      const even = c % 2 === 0 ? c : c + 1; // the code with a zero mantissa LSB
      expect(f32ToE4m3Bits(mid), `midpoint of 0x${c.toString(16)}, 0x${(c + 1).toString(16)}`).toBe(even);
      expect(f32ToE4m3Bits(-mid)).toBe(even | 0x80);
      const eps = (hi - lo) / 64;
      expect(f32ToE4m3Bits(mid - eps)).toBe(c);
      expect(f32ToE4m3Bits(mid + eps)).toBe(c + 1);
    }
  });

  it("agrees with a brute-force nearest-value search on random inputs", () => {
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const table = finiteCodes.filter((c) => c < 0x80).map((c) => ({ c, v: e4m3BitsToF32(c) }));
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((rnd() < 0.5 ? -1 : 1) * 2 ** (rnd() * 22 - 12) * rnd());
      const a = Math.abs(x);
      let best = table[0];
      for (const t of table) {
        const d = Math.abs(t.v - a), bd = Math.abs(best.v - a);
        if (d < bd || (d === bd && (t.c & 1) === 0)) best = t;
      }
      const want = a > 464 ? 0x7f : best.c; // beyond the last midpoint: NaN (non-saturating)
      expect(f32ToE4m3Bits(x), `${x}`).toBe(want | (x < 0 ? 0x80 : 0));
    }
  });

  it("overflow, infinities, NaN, saturation, zeros, underflow", () => {
    expect(f32ToE4m3Bits(464)).toBe(0x7e); // tie between 448 and (unrepresentable) 480: even, 448
    expect(f32ToE4m3Bits(464.0001)).toBe(0x7f);
    expect(f32ToE4m3Bits(1e6)).toBe(0x7f);
    expect(f32ToE4m3Bits(-Infinity)).toBe(0xff);
    expect(f32ToE4m3Bits(NaN)).toBe(0x7f);
    expect(f32ToE4m3Bits(1e6, true)).toBe(0x7e);
    expect(f32ToE4m3Bits(-Infinity, true)).toBe(0xfe);
    expect(Number.isNaN(roundToE4m3(NaN, true))).toBe(true);
    expect(f32ToE4m3Bits(-0)).toBe(0x80);
    expect(f32ToE4m3Bits(2 ** -10)).toBe(0x00); // half the smallest subnormal: tie to even, zero
    expect(f32ToE4m3Bits(2 ** -10 * 1.01)).toBe(0x01);
    expect(f32ToE4m3Bits(-(2 ** -11))).toBe(0x80);
    expect(roundToE4m3(0.1)).toBe(0.1015625);
  });

  it("poison patterns are NaN in every float dtype", () => {
    expect(POISON.f32).toEqual({ width: 4, value: 0x7fc00000 });
    expect(POISON.f16).toEqual({ width: 2, value: 0x7e00 });
    expect(POISON.bf16).toEqual({ width: 2, value: 0x7fc0 });
    expect(POISON.f8e4m3).toEqual({ width: 1, value: 0x7f });
    expect(Number.isNaN(e4m3BitsToF32(POISON.f8e4m3.value))).toBe(true);
  });
});

describe("the runtime end to end over a fake libcuda (host memory, CPU axpy)", () => {
  let dev: CudaDevice;
  beforeAll(() => {
    process.env.FLASHTILE_CUDA_LIBCUDA = fakeLib;
    dev = getCudaDevice();
  });

  it("device info: every field, null where the driver does not report it", () => {
    expect(dev.info.name).toBe("flashtile fake CUDA device (no GPU)");
    expect(dev.info.driverVersion).toBe("13.0");
    expect([dev.info.computeCapabilityMajor, dev.info.computeCapabilityMinor]).toEqual([8, 0]);
    expect(dev.info.maxGridDim).toEqual([2 ** 31 - 1, 65535, 65535]);
    expect(dev.info.clockRateKHz).toBeNull();
    expect(dev.info.memoryBusWidthBits).toBe(5120);
    expect(() => dev.addon.init(1)).toThrow("flashtile CUDA: init(1): there is no CUDA device 1 (this machine has 1)");
  });

  it("tensors of every dtype round-trip, poison and zero-fill", () => {
    const f = createTensor(dev, "f32", [2, 3], [1, 2, 3, 4, 5, 6.5]);
    expect([...readTensor(dev, f)]).toEqual([1, 2, 3, 4, 5, 6.5]);
    poison(dev, f);
    expect([...readTensor(dev, f)].every(Number.isNaN)).toBe(true);
    const h = createTensor(dev, "f16", [3], [1, 0.1, -2]);
    expect([...readTensor(dev, h)]).toEqual([1, 0.0999755859375, -2]);
    const b = createTensor(dev, "bf16", [3], new Uint16Array([0x3f80, 0x7fc0, 0xc000]));
    expect([...readTensor(dev, b)].map(String)).toEqual(["1", "NaN", "-2"]);
    const e = createTensor(dev, "f8e4m3", [4], [1, 0.1, 500, -448]);
    expect([...readTensor(dev, e)].map(String)).toEqual(["1", "0.1015625", "NaN", "-448"]);
    const z = createTensor(dev, "i32", [3]);
    expect([...readTensor(dev, z)]).toEqual([0, 0, 0]);
    writeTensor(dev, z, [-1, 7, 2 ** 31 - 1]);
    expect([...readTensor(dev, z)]).toEqual([-1, 7, 2 ** 31 - 1]);
    expect(() => createTensor(dev, "i32", [1], [0.5])).toThrow("createTensor: i32 data[0] = 0.5 is not an integer");
    [f, h, b, e, z].forEach((t) => t.buffer.free());
  });

  it("loads the PTX and launches: the kernel sees the pointers and the struct", () => {
    const k = loadKernel(dev, axpy, axpyPtx);
    expect(dev.addon.funcParamSizes(k.fn)).toEqual([8, 8, 8, 16]);
    const rows = 5, cols = 7;
    const x = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.25 - 3);
    const bv = Float32Array.from({ length: cols }, (_, i) => i - 2.5);
    const X = createTensor(dev, "f32", [rows, cols], x);
    const B = createTensor(dev, "f32", [cols], bv);
    const Y = createTensor(dev, "f32", [rows, cols]);
    poison(dev, Y);
    expect(k.launch({ x: X, b: B, y: Y, a: 1.5 })).toEqual([1, 1, 1]);
    const y = readTensor(dev, Y);
    for (let i = 0; i < rows * cols; i++) expect(y[i]).toBe(Math.fround(1.5 * x[i] + bv[i % cols]));
    expect(() => k.launch({ x: X, b: B, y: X, a: 1 })).toThrow("axpy.f32: arguments 'x' and 'y' share one buffer, but 'y' is written");
    // The addon's own check of what reaches cuLaunchKernel.
    const params = [X.buffer.ptr, B.buffer.ptr, Y.buffer.ptr];
    expect(() => dev.addon.launch(k.fn, [1], [256], 0, null, [...params, new Uint8Array(12)])).toThrow(
      "flashtile CUDA: launch: parameter 3 of the kernel is 16 bytes but 12 bytes were given",
    );
    expect(() => dev.addon.launch(k.fn, [1], [256], 0, null, params)).toThrow("flashtile CUDA: launch: the kernel takes 4 parameters but 3 were given");
    expect(() => dev.addon.launch(k.fn, [1], [257], 0, null, [...params, new Uint8Array(16)])).toThrow(
      /^flashtile CUDA: cuLaunchKernel\(grid \[1, 1, 1\], block \[257, 1, 1\], 0 bytes of dynamic shared memory\) failed: CUDA_ERROR_INVALID_VALUE \(invalid argument\)$/,
    );
    expect(() => dev.addon.launch(k.module as never, [1], [1], 0, null, [])).toThrow("flashtile CUDA: launch: expected a function handle, got a module handle");
    expect(() => dev.addon.streamSynchronize({ kind: "stream" } as never)).toThrow("flashtile CUDA: streamSynchronize: expected a stream handle");
    k.destroy();
    expect(() => dev.addon.launch(k.fn, [1], [1], 0, null, [])).toThrow("flashtile CUDA: launch: the function was already unloaded with its module");
    expect(() => k.launch({ x: X, b: B, y: Y, a: 1 })).toThrow("axpy.f32: launched after destroy()");
    [X, B, Y].forEach((t) => t.buffer.free());
  });

  it("load errors: the JIT log, a missing entry point, a struct that disagrees, shared memory", () => {
    const bad = axpyPtx.replace("mad.lo.s32", "mad.lo.bogus");
    let err: Error & { code?: string; cudaCall?: string } = new Error();
    try {
      loadKernel(dev, axpy, bad);
    } catch (e) {
      err = e as Error;
    }
    expect(err.message).toMatch(/^axpy\.f32: flashtile CUDA: cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX \(a PTX JIT compilation failed\)\nptxas application ptx input, line \d+; error {3}: Unknown modifier '\.bogus'/);
    expect(err.code).toBe("CUDA_ERROR_INVALID_PTX");
    expect(() => loadKernel(dev, { ...axpy, cuda: { ...axpy.cuda!, entryPoint: "axpy2" } }, axpyPtx)).toThrow("axpy.f32: the PTX has no entry point 'axpy2'");
    expect(() => loadKernel(dev, { ...axpy, cuda: { ...axpy.cuda!, uniforms: { ...axpy.cuda!.uniforms, size: 12 } } }, axpyPtx)).toThrow(
      "axpy.f32: bad manifest or kernel: 'axpy' takes parameters of [8, 8, 8, 16] bytes but the manifest describes [8, 8, 8, 12] (one 8-byte pointer per tensor: x, b, y; then the 12-byte param struct)",
    );
    // Above 48 KiB the loader opts in; beyond the device's maximum it refuses.
    const k = loadKernel(dev, { ...axpy, cuda: { ...axpy.cuda!, sharedBytes: 100_000 } }, gzipSync(Buffer.from(axpyPtx)));
    expect(dev.addon.funcGetAttribute(k.fn, FuncAttribute.MAX_DYNAMIC_SHARED_SIZE_BYTES)).toBe(100_000);
    k.destroy();
    expect(() => loadKernel(dev, { ...axpy, cuda: { ...axpy.cuda!, sharedBytes: 300_000 } }, axpyPtx)).toThrow(
      "axpy.f32: needs 300000 bytes of dynamic shared memory per block but flashtile fake CUDA device (no GPU) allows at most 232448 per block",
    );
    expect(() => loadKernel(dev, { ...axpy, cuda: { ...axpy.cuda!, blockDim: [512, 1, 1] } }, axpyPtx)).toThrow(
      "axpy.f32: blockDim [512, 1, 1] has 512 threads but this kernel can run at most 256 per block on flashtile fake CUDA device (no GPU) (registers: 16 per thread)",
    );
  });

  it("driver errors carry the call, cuGetErrorName and cuGetErrorString", () => {
    let err: Error & { code?: string; cudaCall?: string; cudaResult?: number } = new Error();
    try {
      dev.addon.memFree(0x1234n);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.message).toBe("flashtile CUDA: cuMemFree_v2 failed: CUDA_ERROR_INVALID_VALUE (invalid argument)");
    expect([err.code, err.cudaCall, err.cudaResult]).toEqual(["CUDA_ERROR_INVALID_VALUE", "cuMemFree_v2", 1]);
    expect(() => dev.addon.memcpyHtoD(1n << 40n, new Float32Array(4))).toThrow("flashtile CUDA: cuMemcpyHtoD_v2 failed: CUDA_ERROR_INVALID_VALUE (invalid argument)");
    expect(() => dev.addon.memcpyHtoD(16 as never, new Float32Array(4))).toThrow("flashtile CUDA: memcpyHtoD: dst must be a device pointer (a BigInt)");
    expect(() => dev.addon.memcpyHtoD(1n, [1, 2] as never)).toThrow(/memcpyHtoD: src must be an ArrayBufferView/);
    expect(() => dev.addon.memsetD8(1n, 256, 1)).toThrow("flashtile CUDA: memsetD8: value 0x100 does not fit 8 bits");
  });

  it("captures a graph on a stream and replays it with new inputs; a throwing capture is discarded", () => {
    const k = loadKernel(dev, axpy, axpyPtx);
    const s = createStream(dev);
    const X = createTensor(dev, "f32", [2, 3]);
    const B = createTensor(dev, "f32", [3], [10, 20, 30]);
    const Y = createTensor(dev, "f32", [2, 3]);
    const g = captureGraph(dev, s, (st) => {
      poison(dev, Y, { stream: st });
      k.launch({ x: X, b: B, y: Y, a: 2 }, { stream: st });
    });
    expect(g.nodes).toBe(2);
    expect([...readTensor(dev, Y)]).toEqual([0, 0, 0, 0, 0, 0]); // captured, not run
    for (const base of [1, 5, -3]) {
      writeTensor(dev, X, [0, 1, 2, 3, 4, 5].map((v) => v + base), { stream: s });
      g.launch(s);
      expect([...readTensor(dev, Y, { stream: s })]).toEqual([0, 1, 2, 3, 4, 5].map((v, i) => 2 * (v + base) + [10, 20, 30][i % 3]));
    }
    g.destroy();
    g.destroy();
    expect(() => g.launch(s)).toThrow("captureGraph: graph launched after destroy()");
    expect(() => captureGraph(dev, s, () => { throw new Error("boom"); })).toThrow("boom");
    expect(dev.addon.streamCaptureStatus(s.handle)).toBe("none");
    // Work on the legacy default stream during a global capture is refused by the driver.
    expect(() => captureGraph(dev, s, () => k.launch({ x: X, b: B, y: Y, a: 1 }))).toThrow(/CUDA_ERROR_STREAM_CAPTURE_IMPLICIT/);
    expect(dev.addon.streamCaptureStatus(s.handle)).toBe("none");
    expect(() => captureGraph(dev, s, (() => Promise.resolve()) as never)).toThrow(/capture must be synchronous/);
    const t = timeEvents(dev, () => {}, { stream: s, reps: 5 });
    expect(t.samples).toHaveLength(5);
    s.destroy();
    s.destroy();
    k.destroy();
    [X, B, Y].forEach((x) => x.buffer.free());
  });

  it("frees memory explicitly; using a freed buffer fails clearly", () => {
    const before = dev.memoryInfo().free;
    const buf = new DeviceBuffer(dev, 1 << 30);
    expect(before - dev.memoryInfo().free).toBe(1 << 30);
    buf.free();
    buf.free();
    expect(dev.memoryInfo().free).toBe(before);
    expect(() => buf.ptr).toThrow("DeviceBuffer: used after free()");
    expect(() => buf.upload(new Uint8Array(4))).toThrow("DeviceBuffer: used after free()");
  });

  it("the GPU self-test script passes against the fake driver (its flow, not the GPU)", () => {
    const bundle = join(work, "cuda-runtime.mjs");
    execFileSync(join(root, "node_modules/.bin/esbuild"), ["runtime/backends/cuda/index.ts", "--bundle", "--platform=node", "--format=esm", `--outfile=${bundle}`, "--log-level=warning"], { cwd: root });
    const r = spawnSync(process.execPath, [join(root, "runtime/backends/cuda/selftest.mjs")], {
      env: { ...process.env, FLASHTILE_CUDA_LIBCUDA: fakeLib, FLASHTILE_CUDA_BUNDLE: bundle, FLASHTILE_CUDA_ADDON: addonFile },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.stdout.trim().split("\n").at(-1), r.stdout + r.stderr).toBe("8 passed, 0 failed");
    expect(r.status).toBe(0);
  }, 180_000);
});
