// The CUDA runtime without a GPU: the addon builds, loads, and fails init() with one clear error
// when there is no driver; every pure step of a launch (argument checks with the WebGPU runtime's
// messages, dims inference, the by-value param struct byte for byte, the grid) against
// hand-written manifests; fp8 E4M3 over all 256 codes; and the whole runtime end to end over a
// fake libcuda (runtime/backends/cuda/testing/fake_libcuda.c, host memory and a CPU axpy).
// What needs a real GPU is in runtime/backends/cuda/selftest.mjs, run on a GPU machine.
// This file: the pure steps of a launch, and argument errors worded as the WebGPU launcher words
// them.
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import type { KernelManifest } from "../runtime/manifest.ts";
import { bindArgs as bindGpuArgs, packUniforms } from "../runtime/backends/webgpu/index.ts";
import {
  bindCudaArgs,
  checkCudaManifest,
  choosePtxArch,
  cudaGrid,
  DeviceBuffer,
  LoadedCudaKernel,
  normalizeImage,
  packParams,
  prepareLaunch,
  ptxEntryParamSizes,
  type CudaDevice,
} from "../runtime/backends/cuda/index.ts";
import { axpy, axpyPtx, H100ish, paged, pagedArgs } from "./harness/cuda-fixtures.ts";

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

  it("encodes tensor maps only for sm_90a code: a portable build that takes them as parameters gets zeros", () => {
    const withMaps = { ...paged, cuda: { ...paged.cuda!, tensorMaps: [{ tensor: "q", box: [64, 10], swizzle: 128, rowDims: 2 }] } } as KernelManifest;
    const launch = vi.fn();
    const tensorMapEncodeTiled = vi.fn((out: Uint8Array) => out.fill(7));
    const device = { addon: { launch, tensorMapEncodeTiled }, info: H100ish } as unknown as CudaDevice;
    for (const [arch, encoded] of [["sm_90a", 1], [undefined, 2], ["sm_80", 2]] as const) {
      new LoadedCudaKernel(device, withMaps, { kind: "module" }, { kind: "function" }, arch).launch(pagedArgs() as never);
      expect(tensorMapEncodeTiled, arch).toHaveBeenCalledTimes(encoded);
      const map = launch.mock.calls.at(-1)![5].at(-1) as Uint8Array;
      expect([...map], arch).toEqual(new Array(128).fill(arch === "sm_80" ? 0 : 7));
    }
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
