// The CUDA runtime without a GPU: the addon builds, loads, and fails init() with one clear error
// when there is no driver; every pure step of a launch (argument checks with the WebGPU runtime's
// messages, dims inference, the by-value param struct byte for byte, the grid) against
// hand-written manifests; fp8 E4M3 over all 256 codes; and the whole runtime end to end over a
// fake libcuda (runtime/backends/cuda/testing/fake_libcuda.c, host memory and a CPU axpy).
// What needs a real GPU is in runtime/backends/cuda/selftest.mjs, run on a GPU machine.
// This file: the addon without a driver, and the runtime end to end over the fake libcuda.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import {
  captureGraph,
  createStream,
  createTensor,
  DeviceBuffer,
  FuncAttribute,
  getCudaDevice,
  loadCudaAddon,
  loadKernel,
  poison,
  readTensor,
  timeEvents,
  writeTensor,
  type CudaDevice,
} from "../runtime/backends/cuda/index.ts";
import { root, addonFile, axpy, axpyPtx, work, fakeLib, NO_DRIVER, useCudaBuild } from "./harness/cuda-fixtures.ts";

useCudaBuild();

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
