// Fixtures of the CUDA runtime tests (test/runtime-cuda-*.test.ts): paths, the self-test kernel's
// manifest and PTX, the addon and fake libcuda build (runtime/backends/cuda/testing/fake_libcuda.c),
// the limits of a typical device and a hand-written paged-attention manifest for the pure tests.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import type { KernelManifest } from "../../runtime/manifest.ts";
import { ADDON_BUILD_PATH, type CudaDeviceInfo } from "../../runtime/backends/cuda/index.ts";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const addonFile = join(root, ADDON_BUILD_PATH);
export const selftestDir = join(root, "runtime/backends/cuda/selftest");
export const axpy = JSON.parse(readFileSync(join(selftestDir, "axpy.manifest.json"), "utf8")) as KernelManifest;
export const axpyPtx = readFileSync(join(selftestDir, "axpy.sm_80.ptx"), "utf8");
export const work = mkdtempSync(join(tmpdir(), "flashtile-cuda-"));
export const fakeLib = join(work, "libcuda-fake.so");

export const NO_DRIVER = (lib: string, why: string): string =>
  `flashtile CUDA: cannot load ${lib} (${why}): this needs an NVIDIA GPU and driver; use the WebGPU backend otherwise`;

/** Builds the addon (when missing) and the fake libcuda before the file's first test. Call it at
 *  the top level of a test file that loads the addon. */
export function useCudaBuild(): void {
  beforeAll(() => {
    if (!existsSync(addonFile)) execFileSync("bash", [join(root, "scripts/build-cuda-addon.sh")], { cwd: root, stdio: "pipe" });
    execFileSync("cc", ["-shared", "-fPIC", "-O1", "-o", fakeLib, join(root, "runtime/backends/cuda/testing/fake_libcuda.c"), "-lm"]);
  }, 300_000);
}

// ---------------------------------------------------------------------------------------------
// Limits of a typical device, for the pure tests (no driver involved).
export const H100ish: CudaDeviceInfo = {
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
export const paged: KernelManifest = {
  name: "paged.test",
  kernel: "paged",
  source: { file: "test/harness/cuda-fixtures.ts", line: 1 },
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
export function pagedArgs(over: Record<string, unknown> = {}): Record<string, unknown> {
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
