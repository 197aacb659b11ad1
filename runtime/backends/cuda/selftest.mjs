#!/usr/bin/env node
// Self-test of the CUDA runtime on a real NVIDIA GPU. Plain JS with no dependencies, so it runs
// on a bare GPU machine with only Node, the built addon and the runtime bundle:
//
//   bash scripts/build-cuda-addon.sh --selftest      # here: addon, selftest/axpy.sm_80.ptx, .bundle/cuda-runtime.mjs
//   node runtime/backends/cuda/selftest.mjs          # there: prints one line per check, exits 1 on any failure
//
// It compiles nothing: the kernel is selftest/axpy.sm_80.ptx (nvcc -ptx -arch=sm_80 from
// selftest/axpy.cu) with its hand-written manifest selftest/axpy.manifest.json. The CI tests
// (test/runtime-cuda-*.test.ts) cover everything that needs no GPU; this covers the rest.
// Environment: FLASHTILE_CUDA_ADDON (the .node), FLASHTILE_CUDA_BUNDLE (the runtime bundle),
// FLASHTILE_CUDA_DEVICE (ordinal, default 0).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const bundlePath = process.env.FLASHTILE_CUDA_BUNDLE ?? join(root, ".bundle/cuda-runtime.mjs");
const addonPath = process.env.FLASHTILE_CUDA_ADDON ?? join(here, "addon/build/Release/flashtile_cuda.node");
if (!existsSync(bundlePath)) {
  console.error(`selftest: no runtime bundle at ${bundlePath}; run: bash scripts/build-cuda-addon.sh --selftest`);
  process.exit(2);
}
const rt = await import(pathToFileURL(bundlePath).href);
const manifest = JSON.parse(readFileSync(join(here, "selftest/axpy.manifest.json"), "utf8"));
const ptx = readFileSync(join(here, "selftest", manifest.cuda.ptx.sm_80), "utf8");

// ---------------------------------------------------------------------------------------------
// A tiny harness: each check prints "ok" or "FAIL" with details; the exit code counts failures.

const results = [];
async function check(name, fn) {
  const t0 = performance.now();
  try {
    const note = await fn();
    const ms = (performance.now() - t0).toFixed(0);
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${ms} ms)${note ? `: ${note}` : ""}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
/** Free tensors' buffers in a finally: after a failure (a sticky error, say) the first error is
 *  the one worth reading, so errors here are swallowed (the "memory is freed" check tests free). */
function release(...tensors) {
  for (const t of tensors) {
    try {
      t.buffer.free();
    } catch {
      // keep the first error
    }
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
function expectThrow(fn, pattern, what) {
  try {
    fn();
  } catch (e) {
    const msg = String(e && e.message);
    assert(pattern.test(msg), `${what}: message ${JSON.stringify(msg)} does not match ${pattern}`);
    return e;
  }
  throw new Error(`${what}: did not throw`);
}

const seed = (Date.now() ^ (process.pid << 8)) >>> 0;
let state = seed;
function rand() {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randn = (n) => Float32Array.from({ length: n }, () => rand() * 4 - 2);

/** Max relative error of y against a*x+b (f32), and whether every element is finite. */
function compareAxpy(y, x, b, a, cols) {
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    const ref = Math.fround(Math.fround(a) * x[i] + b[i % cols]);
    if (!Number.isFinite(y[i])) throw new Error(`y[${i}] = ${y[i]} (expected ${ref}): unwritten or wrong`);
    const err = Math.abs(y[i] - ref) / (Math.abs(ref) + 1e-6);
    worst = Math.max(worst, err);
  }
  assert(worst <= 2e-7, `max relative error ${worst} > 2e-7`);
  return worst;
}

// ---------------------------------------------------------------------------------------------

console.log(`flashtile CUDA self-test (seed ${seed}), node ${process.version}`);
let dev;
await check("device info", () => {
  dev = rt.getCudaDevice({ addonPath, ordinal: Number(process.env.FLASHTILE_CUDA_DEVICE ?? 0) });
  const i = dev.info;
  console.log(`     ${rt.describeCudaDevice(i)}`);
  console.log(`     ${JSON.stringify(i)}`);
  assert(i.name.length > 0, "name");
  assert(i.computeCapabilityMajor >= 8, "compute capability >= 8.0 (the PTX is sm_80)");
  assert(i.multiprocessors > 0 && i.totalMemory > 2 ** 30, "SMs and memory");
  assert(i.maxSharedMemoryPerBlockOptin >= i.maxSharedMemoryPerBlock, "opt-in shared memory >= default");
  assert(i.maxGridDim[0] === 2 ** 31 - 1 && i.maxThreadsPerBlock === 1024, "grid and block limits");
  assert(rt.loadCudaAddon({ addonPath }).deviceCount() >= 1, "deviceCount");
  return `${i.name}, sm_${i.computeCapabilityMajor}${i.computeCapabilityMinor}, ${i.multiprocessors} SMs`;
});
if (!dev) {
  console.log("0 passed, 1 failed (no device)");
  process.exit(1);
}
const a = dev.addon;

await check("memcpy round trip (sync, async, device to device, offsets, memset)", () => {
  const n = 1 << 20;
  const host = new Uint8Array(n);
  for (let i = 0; i < n; i++) host[i] = (rand() * 256) | 0;
  const b1 = new rt.DeviceBuffer(dev, n);
  const b2 = new rt.DeviceBuffer(dev, n);
  try {
    b1.upload(host);
    b2.copyFrom(b1);
    const back = new Uint8Array(n);
    b2.download(back);
    assert(back.every((v, i) => v === host[i]), "HtoD -> DtoD -> DtoH");

    const s = rt.createStream(dev);
    const f = randn(1000);
    b1.upload(f, { stream: s, offset: 4096 });
    a.memcpyDtoDAsync(b2.ptr, b1.ptr + 4096n, f.byteLength, s.handle);
    const g = new Float32Array(1000);
    b2.download(g, { stream: s });
    assert(g.every((v, i) => v === f[i]), "async upload at an offset, async DtoD, async download");
    s.destroy();

    a.memsetD32(b1.ptr, 0xdeadbeef, 16);
    a.memsetD16(b1.ptr + 64n, 0xabcd, 8);
    a.memsetD8(b1.ptr + 80n, 0x5a, 3);
    const m = new Uint8Array(84);
    b1.download(m);
    const dv = new DataView(m.buffer);
    assert(dv.getUint32(0, true) === 0xdeadbeef && dv.getUint32(60, true) === 0xdeadbeef, "memsetD32");
    assert(dv.getUint16(64, true) === 0xabcd && dv.getUint16(78, true) === 0xabcd, "memsetD16");
    assert(m[80] === 0x5a && m[82] === 0x5a && m[83] !== 0x5a, "memsetD8");
    return `${n} bytes`;
  } finally {
    release({ buffer: b1 }, { buffer: b2 });
  }
});

let kernel;
await check("load PTX + launch matches JS", () => {
  kernel = rt.loadKernel(dev, manifest, ptx, { arch: "sm_80" });
  const sizes = a.funcParamSizes(kernel.fn);
  const rows = 37, cols = 129; // 4773 elements: not a multiple of the 256-thread block
  const x = randn(rows * cols), bv = randn(cols), alpha = rand() * 3 - 1.5;
  const X = rt.createTensor(dev, "f32", [rows, cols], x);
  const B = rt.createTensor(dev, "f32", [cols], bv);
  const Y = rt.createTensor(dev, "f32", [rows, cols]);
  try {
    rt.poison(dev, Y);
    const grid = kernel.launch({ x: X, b: B, y: Y, a: alpha });
    assert(grid.join() === "19,1,1", `grid ${grid}`);
    const err = compareAxpy(rt.readTensor(dev, Y), x, bv, alpha, cols);
    // The same through a raw { ptr } binding and a non-blocking stream.
    const s = rt.createStream(dev);
    rt.poison(dev, Y, { stream: s });
    kernel.launch({ x: { ptr: X.buffer.ptr, shape: [rows, cols] }, b: B, y: Y, a: -alpha }, { stream: s });
    compareAxpy(rt.readTensor(dev, Y, { stream: s }), x, bv, -alpha, cols);
    s.destroy();
    // Argument errors come from the shared checker before the driver is involved.
    expectThrow(() => kernel.launch({ x: X, b: B, y: X, a: 1 }), /^axpy\.f32: argument 'y' has shape \[37, 129\]|share one buffer/, "aliased output");
    expectThrow(() => kernel.launch({ x: X, b: X, y: Y, a: 1 }), /argument 'b' has shape \[37, 129\] \(rank 2\) but the kernel expects \[cols\] \(rank 1\)/, "rank");
    const r = kernel.resources;
    return `max rel err ${err.toExponential(2)}, params ${JSON.stringify(sizes)}, ${r.registers} registers`;
  } finally {
    release(X, B, Y);
  }
});

await check("f16 / bf16 / fp8 e4m3 tensors: upload, poison, read back", () => {
  const vals = [0, -0, 1, -1.5, 0.1, 3.14159, 448, 500, -1e-3, 2 ** -9, 65504];
  const t8 = rt.createTensor(dev, "f8e4m3", [vals.length], vals);
  const got8 = rt.readTensor(dev, t8);
  vals.forEach((v, i) => {
    const want = rt.roundToE4m3(v);
    assert(Object.is(got8[i], want) || (Number.isNaN(want) && Number.isNaN(got8[i])), `fp8 ${v}: ${got8[i]} vs ${want}`);
  });
  rt.poison(dev, t8);
  assert(rt.readTensor(dev, t8).every(Number.isNaN), "fp8 poison is NaN");
  const t16 = rt.createTensor(dev, "f16", [3], [1, 0.5, -2]);
  const tb = rt.createTensor(dev, "bf16", [3], [1, 0.5, -2]);
  assert(rt.readTensor(dev, t16).join() === "1,0.5,-2" && rt.readTensor(dev, tb).join() === "1,0.5,-2", "f16/bf16 values");
  rt.poison(dev, t16);
  rt.poison(dev, tb);
  assert(rt.readTensor(dev, t16).every(Number.isNaN) && rt.readTensor(dev, tb).every(Number.isNaN), "half poison is NaN");
  const ti = rt.createTensor(dev, "i32", [2], [-7, 2 ** 31 - 1]);
  assert(rt.readTensor(dev, ti).join() === `-7,${2 ** 31 - 1}`, "i32");
  [t8, t16, tb, ti].forEach((t) => t.buffer.free());
});

await check("events: timing a launch", () => {
  const rows = 4096, cols = 4096; // 64 MiB per f32 tensor
  const X = rt.createTensor(dev, "f32", [rows, cols]);
  const B = rt.createTensor(dev, "f32", [cols]);
  const Y = rt.createTensor(dev, "f32", [rows, cols]);
  const s = rt.createStream(dev);
  try {
    const t = rt.timeEvents(dev, () => kernel.launch({ x: X, b: B, y: Y, a: 2 }, { stream: s }), { stream: s, warmup: 3, reps: 20 });
    assert(t.ms > 0 && t.samples.length === 20 && t.samples.every((v) => v > 0), `timing ${JSON.stringify(t)}`);
    const gbs = (2 * rows * cols * 4) / (t.ms * 1e-3) / 1e9;
    return `median ${(t.ms * 1e3).toFixed(1)} us (min ${(t.minMs * 1e3).toFixed(1)} us) for 2 x 64 MiB: ${gbs.toFixed(0)} GB/s read+write`;
  } finally {
    s.destroy();
    release(X, B, Y);
  }
});

await check("graph: capture poison + launch on a stream, replay 3 times with new inputs", () => {
  const rows = 64, cols = 200;
  const bv = randn(cols);
  const X = rt.createTensor(dev, "f32", [rows, cols]);
  const B = rt.createTensor(dev, "f32", [cols], bv);
  const Y = rt.createTensor(dev, "f32", [rows, cols]);
  const s = rt.createStream(dev);
  const notes = [];
  try {
    for (const mode of ["global", "thread_local"]) {
      const g = rt.captureGraph(
        dev,
        s,
        (st) => {
          rt.poison(dev, Y, { stream: st });
          kernel.launch({ x: X, b: B, y: Y, a: 0.75 }, { stream: st });
        },
        { mode },
      );
      assert(g.nodes === 2, `${mode}: graph has ${g.nodes} nodes, expected 2 (memset + kernel)`);
      assert(a.streamCaptureStatus(s.handle) === "none", "capture ended");
      for (let rep = 0; rep < 3; rep++) {
        const x = randn(rows * cols);
        rt.writeTensor(dev, X, x, { stream: s }); // the per-step input, rewritten before each replay
        g.launch(s);
        compareAxpy(rt.readTensor(dev, Y, { stream: s }), x, bv, 0.75, cols);
      }
      g.destroy();
      notes.push(`${mode}: 2 nodes, 3 replays ok`);
    }
    // A capture whose function throws is discarded and leaves the stream usable.
    expectThrow(() => rt.captureGraph(dev, s, () => { throw new Error("boom"); }), /^boom$/, "throwing capture");
    assert(a.streamCaptureStatus(s.handle) === "none", "capture ended after a throw");
    // Replays vs launches: 100 of each, timed.
    const g = rt.captureGraph(dev, s, (st) => kernel.launch({ x: X, b: B, y: Y, a: 1 }, { stream: st }));
    const tg = rt.timeEvents(dev, () => g.launch(s), { stream: s, reps: 100 });
    const tl = rt.timeEvents(dev, () => kernel.launch({ x: X, b: B, y: Y, a: 1 }, { stream: s }), { stream: s, reps: 100 });
    g.destroy();
    notes.push(`small kernel: graph replay ${(tg.ms * 1e3).toFixed(1)} us, launch ${(tl.ms * 1e3).toFixed(1)} us (median, event to event)`);
    return notes.join("; ");
  } finally {
    s.destroy();
    release(X, B, Y);
  }
});

await check("errors: bad launches and loads throw with the driver's name for the error", () => {
  const info = dev.info;
  const X = rt.createTensor(dev, "f32", [1, 256]);
  const B = rt.createTensor(dev, "f32", [256]);
  const Y = rt.createTensor(dev, "f32", [1, 256]);
  const params = [X.buffer.ptr, B.buffer.ptr, Y.buffer.ptr, new Uint8Array(16)];
  try {
    // Too much dynamic shared memory for any block: the driver refuses the launch.
    const e1 = expectThrow(
      () => a.launch(kernel.fn, [1], [256], info.maxSharedMemoryPerBlockOptin + 1, null, params),
      /^flashtile CUDA: cuLaunchKernel\(grid \[1, 1, 1\], block \[256, 1, 1\], \d+ bytes of dynamic shared memory\) failed: CUDA_ERROR_\w+ \(.+\)$/,
      "too much shared memory",
    );
    // 64 KiB is allowed only after opting in: refused on a fresh function, fine via loadKernel.
    const big = 64 * 1024;
    const mod = a.moduleLoad(ptx);
    const fresh = a.moduleGetFunction(mod, "axpy");
    expectThrow(() => a.launch(fresh, [1], [256], big, null, params), /cuLaunchKernel.*failed: CUDA_ERROR_/, "64 KiB without opt-in");
    a.moduleUnload(mod);
    expectThrow(() => a.launch(fresh, [1], [256], 0, null, params), /function was already unloaded with its module/, "function of an unloaded module");
    const k64 = rt.loadKernel(dev, { ...manifest, name: "axpy.f32.smem64k", cuda: { ...manifest.cuda, sharedBytes: big } }, ptx);
    assert(a.funcGetAttribute(k64.fn, rt.FuncAttribute.MAX_DYNAMIC_SHARED_SIZE_BYTES) === big, "opt-in attribute set");
    const x = randn(256), bv = randn(256);
    rt.writeTensor(dev, X, x);
    rt.writeTensor(dev, B, bv);
    rt.poison(dev, Y);
    k64.launch({ x: X, b: B, y: Y, a: 3 });
    compareAxpy(rt.readTensor(dev, Y), x, bv, 3, 256);
    k64.destroy();
    // The loader's own checks: shared memory over the device's opt-in maximum, a param struct
    // size that disagrees with the PTX, an entry point that is not there, PTX that does not compile.
    expectThrow(
      () => rt.loadKernel(dev, { ...manifest, cuda: { ...manifest.cuda, sharedBytes: info.maxSharedMemoryPerBlockOptin + 16 } }, ptx),
      /^axpy\.f32: needs \d+ bytes of dynamic shared memory per block but .+ allows at most \d+ per block$/,
      "shared memory over the opt-in maximum",
    );
    expectThrow(
      () => rt.loadKernel(dev, { ...manifest, cuda: { ...manifest.cuda, uniforms: { ...manifest.cuda.uniforms, size: 32 } } }, ptx),
      /takes parameters of \[8, 8, 8, 16\] bytes but the manifest describes \[8, 8, 8, 32\]/,
      "param struct size",
    );
    // The driver's view of the parameters (cuFuncGetParamInfo), and the addon's check of them.
    assert(JSON.stringify(a.funcParamSizes(kernel.fn)) === "[8,8,8,16]", `driver param sizes ${JSON.stringify(a.funcParamSizes(kernel.fn))}`);
    expectThrow(
      () => a.launch(kernel.fn, [1], [256], 0, null, [...params.slice(0, 3), new Uint8Array(12)]),
      /^flashtile CUDA: launch: parameter 3 of the kernel is 16 bytes but 12 bytes were given$/,
      "struct of the wrong size",
    );
    expectThrow(() => a.launch(kernel.fn, [1], [256], 0, null, params.slice(0, 3)), /takes 4 parameters but 3 were given/, "missing parameter");
    expectThrow(() => a.moduleGetFunction(a.moduleLoad(ptx), "nope"), /cuModuleGetFunction\('nope'\) failed: CUDA_ERROR_NOT_FOUND/, "missing entry");
    const bad = ptx.replace("mad.lo.s32", "mad.lo.bogus");
    const e2 = expectThrow(() => rt.loadKernel(dev, manifest, bad), /cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX \(.+\)\n[^]*(error|Unknown|Illegal)/i, "bad PTX with JIT log");
    // Driver errors name the call and the error.
    const e3 = expectThrow(() => a.memFree(0x1234n), /^flashtile CUDA: cuMemFree_v2 failed: CUDA_ERROR_\w+ \(.+\)$/, "bogus free");
    assert(e3.code && e3.code.startsWith("CUDA_ERROR_") && typeof e3.cudaResult === "number", "error code properties");
    a.synchronize(); // no sticky error left behind
    return `${e1.code}; JIT log: ${JSON.stringify(e2.message.split("\n")[1]).slice(0, 90)}`;
  } finally {
    release(X, B, Y);
  }
});

await check("memory is freed", () => {
  const before = dev.memoryInfo().free;
  const gib = 2 ** 30;
  const buf = new rt.DeviceBuffer(dev, gib);
  const during = dev.memoryInfo().free;
  assert(before - during >= gib, `allocating 1 GiB took ${(before - during) / 2 ** 20} MiB`);
  buf.free();
  buf.free(); // idempotent
  const after = dev.memoryInfo().free;
  assert(Math.abs(after - before) <= 64 * 2 ** 20, `after free: ${(before - after) / 2 ** 20} MiB still taken`);
  expectThrow(() => buf.ptr, /used after free/, "use after free");
  const T = rt.createTensor(dev, "f32", [1, 4]);
  const B = rt.createTensor(dev, "f32", [4]);
  T.buffer.free();
  expectThrow(() => kernel.launch({ x: T, b: B, y: rt.createTensor(dev, "f32", [1, 4]), a: 1 }), /argument 'x': its DeviceBuffer was freed/, "launch with a freed buffer");
  B.buffer.free();
  // 20 rounds of 512 MiB: no growth.
  for (let i = 0; i < 20; i++) new rt.DeviceBuffer(dev, 2 ** 29).free();
  const end = dev.memoryInfo().free;
  assert(Math.abs(end - before) <= 64 * 2 ** 20, `after 20 alloc/free rounds: ${(before - end) / 2 ** 20} MiB taken`);
  kernel.destroy();
  return `1 GiB taken and returned (free ${(before / gib).toFixed(2)} -> ${(during / gib).toFixed(2)} -> ${(after / gib).toFixed(2)} GiB)`;
});

const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
