// The WebGPU runtime on a real device (Mesa lavapipe here, any adapter elsewhere): hand-written
// WGSL kernels and hand-written manifests, results checked element by element against JS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KernelManifest } from "../runtime/manifest.ts";
import {
  bf16BitsToF32,
  bindArgs,
  BufferUsage,
  createTensor,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  getDevice,
  loadKernel,
  packUniforms,
  pickVariant,
  poison,
  readTensor,
  roundToF16,
  timestamp,
  type DeviceInfo,
  type LoadedKernel,
  type Tensor,
  type TensorBinding,
} from "../runtime/backends/webgpu/index.ts";

// ---------------------------------------------------------------------------------------------
// Kernels and manifests

/** y[i, j] = a[i, j] * scale + b[j] over [rows, cols], one invocation per element. */
function affineManifest(dtype: "f32" | "f16", overrides: Partial<KernelManifest> = {}): KernelManifest {
  return {
    name: `affine.${dtype}`,
    kernel: "affine",
    source: { file: "test/runtime-webgpu.test.ts", line: 1 },
    params: { dtype },
    tuned: [],
    tensors: [
      { name: "a", binding: 0, dtype, shape: ["rows", "cols"], access: "read", perStep: false },
      { name: "b", binding: 1, dtype, shape: ["cols"], access: "read", perStep: false },
      { name: "y", binding: 2, dtype, shape: ["rows", "cols"], access: "read_write", perStep: false },
    ],
    scalars: [{ name: "scale", dtype: "f32", perStep: false }],
    dims: ["rows", "cols"],
    grid: [{ op: "ceil_div", args: [{ op: "mul", args: ["rows", "cols"] }, 64] }],
    gridAxes: ["block"],
    wgsl: {
      file: `affine.${dtype}.wgsl`,
      entryPoint: "main",
      workgroupSize: [64, 1, 1],
      requires: {
        features: dtype === "f16" ? ["shader-f16"] : [],
        workgroupStorageBytes: 0,
        invocations: 64,
      },
      uniforms: {
        binding: 3,
        size: 16,
        fields: [
          { name: "rows", type: "u32", offset: 0, from: "dim" },
          { name: "cols", type: "u32", offset: 4, from: "dim" },
          { name: "scale", type: "f32", offset: 8, from: "scalar" },
        ],
      },
    },
    ...overrides,
  };
}

function affineWgsl(dtype: "f32" | "f16"): string {
  return `${dtype === "f16" ? "enable f16;\n" : ""}
struct U { rows: u32, cols: u32, scale: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<${dtype}>;
@group(0) @binding(1) var<storage, read> b: array<${dtype}>;
@group(0) @binding(2) var<storage, read_write> y: array<${dtype}>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= u.rows * u.cols) { return; }
  y[i] = ${dtype}(f32(a[i]) * u.scale + f32(b[i % u.cols]));
}
`;
}

/** The same computation using a subgroup operation (adds subgroupAdd(1) - subgroup_size = 0). */
const affineSubgroupWgsl = `enable subgroups;
struct U { rows: u32, cols: u32, scale: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(subgroup_size) sg: u32) {
  let lanes = subgroupAdd(1u); // in uniform control flow: before any early return
  let i = gid.x;
  if (i >= u.rows * u.cols) { return; }
  y[i] = a[i] * u.scale + b[i % u.cols] + f32(i32(lanes) - i32(sg));
}
`;

function subgroupVariant(minSubgroupSize: number): KernelManifest {
  const m = affineManifest("f32");
  return {
    ...m,
    name: `affine.f32.sg${minSubgroupSize}`,
    wgsl: {
      ...m.wgsl!,
      file: "affine.sg.wgsl",
      requires: { ...m.wgsl!.requires, features: ["subgroups"], minSubgroupSize },
    },
  };
}

/** out[b] = sum(values[offsets[b] .. offsets[b + 1]]): an i32 tensor shaped [batch + 1]. */
const segsumManifest: KernelManifest = {
  name: "segsum.f32",
  kernel: "segsum",
  source: { file: "test/runtime-webgpu.test.ts", line: 1 },
  params: {},
  tuned: [],
  tensors: [
    {
      name: "offsets",
      binding: 0,
      dtype: "i32",
      shape: [{ op: "add", args: ["batch", 1] }],
      access: "read",
      perStep: true,
    },
    { name: "values", binding: 1, dtype: "f32", shape: ["n"], access: "read", perStep: false },
    { name: "out", binding: 2, dtype: "f32", shape: ["batch"], access: "read_write", perStep: false },
  ],
  scalars: [],
  dims: ["batch", "n"],
  grid: [{ op: "ceil_div", args: ["batch", 64] }],
  gridAxes: ["block"],
  wgsl: {
    file: "segsum.wgsl",
    entryPoint: "main",
    workgroupSize: [64, 1, 1],
    requires: { features: [], workgroupStorageBytes: 0, invocations: 64 },
    uniforms: {
      binding: 3,
      size: 16,
      fields: [
        { name: "batch", type: "u32", offset: 0, from: "dim" },
        { name: "n", type: "u32", offset: 4, from: "dim" },
      ],
    },
  },
};

const segsumWgsl = `
struct U { batch: u32, n: u32 }
@group(0) @binding(0) var<storage, read> offsets: array<i32>;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= u.batch) { return; }
  var s = 0.0;
  for (var i = offsets[b]; i < offsets[b + 1]; i++) { s += values[u32(i)]; }
  out[b] = s;
}
`;

/** Copies its raw uniform block (32 bytes, fields at scattered offsets, gaps) to `out`. */
const echoManifest: KernelManifest = {
  name: "echo_uniforms",
  kernel: "echo_uniforms",
  source: { file: "test/runtime-webgpu.test.ts", line: 1 },
  params: {},
  tuned: [],
  tensors: [
    { name: "out", binding: 0, dtype: "u32", shape: [8], access: "read_write", perStep: false },
    { name: "x", binding: 2, dtype: "f32", shape: ["n", "m"], access: "read", perStep: false },
  ],
  scalars: [
    { name: "k", dtype: "i32", perStep: true },
    { name: "alpha", dtype: "f32", perStep: false },
    { name: "flag", dtype: "u32", perStep: false },
  ],
  dims: ["n", "m"],
  grid: [1],
  gridAxes: ["one"],
  wgsl: {
    file: "echo.wgsl",
    entryPoint: "main",
    workgroupSize: [8, 1, 1],
    requires: { features: [], workgroupStorageBytes: 0, invocations: 8 },
    uniforms: {
      binding: 5,
      size: 32,
      fields: [
        { name: "n", type: "u32", offset: 0, from: "dim" },
        { name: "k", type: "i32", offset: 4, from: "scalar" },
        { name: "m", type: "u32", offset: 12, from: "dim" },
        { name: "alpha", type: "f32", offset: 16, from: "scalar" },
        { name: "flag", type: "u32", offset: 24, from: "scalar" },
      ],
    },
  },
};

const echoWgsl = `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<uniform> u: array<vec4u, 2>;

@compute @workgroup_size(8)
fn main(@builtin(local_invocation_index) i: u32) {
  out[i] = u[i / 4u][i % 4u];
}
`;

// ---------------------------------------------------------------------------------------------
// Helpers

function randoms(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 4 - 2;
  return a;
}

/** Element-by-element check; reports the first mismatch with its index. */
function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: (w: number, i: number) => number,
): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isFinite(got[i]) && Math.abs(got[i] - want[i]) <= tol(want[i], i);
    if (!ok) expect({ index: i, got: got[i] }).toEqual({ index: i, got: want[i] });
  }
}

let device: GPUDevice;
let info: DeviceInfo;
let adapter: GPUAdapter;

// Validation errors WebGPU reports asynchronously (bad bind group, bad dispatch) would not fail
// any single test, so collect them and fail at the end.
const uncaptured: string[] = [];

beforeAll(async () => {
  ({ device, info, adapter } = await getDevice());
  device.addEventListener("uncapturederror", (e) =>
    uncaptured.push((e as GPUUncapturedErrorEvent).error.message),
  );
});
afterAll(async () => {
  await device.queue.onSubmittedWorkDone();
  device.destroy();
  expect(uncaptured).toEqual([]);
});

// ---------------------------------------------------------------------------------------------

describe("getDevice", () => {
  it("describes the adapter and requests its optional features and max limits", () => {
    expect(info.vendor).toBe(adapter.info.vendor);
    expect(info.description).toBe(adapter.info.description);
    expect(info.isFallbackAdapter).toBe(adapter.info.isFallbackAdapter);
    // Subgroup sizes come from the adapter, whatever they are.
    expect(info.subgroupMinSize).toBe(adapter.info.subgroupMinSize);
    expect(info.subgroupMaxSize).toBe(adapter.info.subgroupMaxSize);
    for (const f of ["shader-f16", "subgroups", "timestamp-query", "subgroup-size-control"]) {
      expect(info.features.includes(f)).toBe(adapter.features.has(f));
      expect(device.features.has(f)).toBe(adapter.features.has(f));
    }
    for (const k of [
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxStorageBuffersPerShaderStage",
      "maxStorageBufferBindingSize",
      "maxComputeWorkgroupsPerDimension",
    ] as const) {
      expect(info.limits[k]).toBe(adapter.limits[k]);
      expect(device.limits[k]).toBe(adapter.limits[k]);
    }
  });

  it("says what to install when there is no adapter", async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(getDevice({ gpu: noAdapter })).rejects.toThrow(
      /no WebGPU adapter.*apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1.*Mesa 22/,
    );
  });
});

describe("affine kernel", () => {
  let f32: LoadedKernel;
  beforeAll(async () => {
    f32 = await loadKernel(device, info, affineManifest("f32"), affineWgsl("f32"));
  });

  async function runAffine(k: LoadedKernel, rows: number, cols: number) {
    const a = randoms(rows * cols);
    const b = randoms(cols);
    const scale = Math.random() * 3 - 1.5;
    const ta = createTensor(device, "f32", [rows, cols], a);
    const tb = createTensor(device, "f32", [cols], b);
    const ty = createTensor(device, "f32", [rows, cols]);
    poison(device, ty);
    const grid = k.launch({ a: ta, b: tb, y: ty, scale });
    return { a, b, scale, grid, y: await readTensor(device, ty) };
  }

  it("matches JS element by element (f32), tail included", async () => {
    const rows = 37;
    const cols = 53; // 1961 elements: not a multiple of the 64-wide workgroup
    const { a, b, scale, grid, y } = await runAffine(f32, rows, cols);
    expect(grid).toEqual([Math.ceil((rows * cols) / 64), 1, 1]);
    const want = Float32Array.from(a, (v, i) => Math.fround(Math.fround(v * scale) + b[i % cols]));
    // The GPU may fuse the multiply-add: allow an ulp or two of f32.
    expectClose(y, want, (_w, i) => 2 ** -22 * (Math.abs(a[i] * scale) + Math.abs(b[i % cols])) + 1e-30);
  });

  it("matches JS element by element (f16 variant, needs shader-f16)", async () => {
    if (!info.features.includes("shader-f16")) return; // the unmet-requirement test covers this case
    const k = await loadKernel(device, info, affineManifest("f16"), affineWgsl("f16"));
    const rows = 19;
    const cols = 29;
    const a = randoms(rows * cols);
    const b = randoms(cols);
    const scale = 0.75;
    const ta = createTensor(device, "f16", [rows, cols], a); // numbers: rounded to f16 on upload
    const tb = createTensor(device, "f16", [cols], b);
    const ty = createTensor(device, "f16", [rows, cols]);
    poison(device, ty);
    expect((await readTensor(device, ty)).every(Number.isNaN)).toBe(true);
    k.launch({ a: ta, b: tb, y: ty, scale });
    const y = await readTensor(device, ty);
    const want = Float32Array.from(a, (v, i) =>
      roundToF16(Math.fround(Math.fround(roundToF16(v) * scale) + roundToF16(b[i % cols]))),
    );
    // One f16 rounding of an f32 result: equal, or one f16 ulp off if the f32 sum was fused.
    expectClose(y, want, (w) => Math.abs(w) * 2 ** -10 + 2 ** -24);
  });

  it("infers dims from bare symbols in shapes", () => {
    const a = createTensor(device, "f32", [3, 4]);
    const b = createTensor(device, "f32", [4]);
    const y = createTensor(device, "f32", [3, 4]);
    const bound = bindArgs(affineManifest("f32"), { a, b, y, scale: 2 });
    expect(bound.dims).toEqual({ rows: 3, cols: 4 });
    expect(bound.scalars).toEqual({ scale: 2 });
    expect(f32.launch({ a, b, y, scale: 2 })).toEqual([1, 1, 1]);
  });

  it("dispatches nothing for a zero-size grid", async () => {
    const a = createTensor(device, "f32", [0, 4]);
    const b = createTensor(device, "f32", [4]);
    const y = createTensor(device, "f32", [0, 4]);
    expect(f32.launch({ a, b, y, scale: 1 })).toEqual([0, 1, 1]);
  });

  describe("argument errors", () => {
    let a: Tensor<"f32">, b: Tensor<"f32">, y: Tensor<"f32">;
    beforeAll(() => {
      a = createTensor(device, "f32", [3, 4]);
      b = createTensor(device, "f32", [4]);
      y = createTensor(device, "f32", [3, 4]);
    });

    it("wrong rank", () => {
      expect(() => f32.launch({ a: { buffer: a.buffer, shape: [12] }, b, y, scale: 1 })).toThrow(
        /^affine\.f32: argument 'a' has shape \[12\] \(rank 1\) but the kernel expects \[rows, cols\] \(rank 2\)$/,
      );
    });

    it("sizes that disagree on a dim", () => {
      const b5 = createTensor(device, "f32", [5]);
      expect(() => f32.launch({ a, b: b5, y, scale: 1 })).toThrow(
        /^affine\.f32: argument 'b' has shape \[5\] but the kernel expects \[cols\], and cols = 4 from argument 'a'$/,
      );
    });

    it("missing argument", () => {
      expect(() => f32.launch({ a, y, scale: 1 } as never)).toThrow(
        /^affine\.f32: missing argument 'b' \(the kernel takes a, b, y, scale\)$/,
      );
      expect(() => f32.launch({ a, b, y } as never)).toThrow(/missing argument 'scale'/);
    });

    it("unknown argument", () => {
      expect(() => f32.launch({ a, b, y, scale: 1, c: 2 })).toThrow(
        /^affine\.f32: unknown argument 'c' \(the kernel takes a, b, y, scale\)$/,
      );
    });

    it("buffer too small", () => {
      const small = createTensor(device, "f32", [2, 4]);
      expect(() => f32.launch({ a: { buffer: small.buffer, shape: [3, 4] }, b, y, scale: 1 })).toThrow(
        /^affine\.f32: argument 'a' \(f32\[3, 4\]\) needs a buffer of at least 48 bytes but its buffer has 32 bytes$/,
      );
    });

    it("wrong dtype, bad scalar, aliased output", () => {
      const h = createTensor(device, "f16", [3, 4]);
      expect(() => f32.launch({ a: h, b, y, scale: 1 })).toThrow(
        /argument 'a' is f16 but the kernel expects f32/,
      );
      expect(() => f32.launch({ a, b, y, scale: "2" as unknown as number })).toThrow(
        /scalar argument 'scale' \(f32\) must be a finite number, got 2/,
      );
      expect(() => f32.launch({ a, b, y: a, scale: 1 })).toThrow(
        /arguments 'a' and 'y' share one buffer, but 'y' is written/,
      );
    });

    it("grid larger than maxComputeWorkgroupsPerDimension", async () => {
      const max = device.limits.maxComputeWorkgroupsPerDimension;
      const big = await loadKernel(
        device,
        info,
        affineManifest("f32", { grid: [{ op: "mul", args: ["rows", max + 1] }] }),
        affineWgsl("f32"),
      );
      const one = (shape: number[]) => createTensor(device, "f32", shape);
      expect(() => big.launch({ a: one([1, 1]), b: one([1]), y: one([1, 1]), scale: 1 })).toThrow(
        new RegExp(
          `grid \\[${max + 1}, 1, 1\\] is too large: axis 'block' has ${max + 1} workgroups but maxComputeWorkgroupsPerDimension is ${max}`,
        ),
      );
    });
  });

  it("binds only the tensor's bytes of a buffer larger than a storage binding may be", async () => {
    const max = device.limits.maxStorageBufferBindingSize;
    if (device.limits.maxBufferSize < max + 256) return;
    const slab = device.createBuffer({ size: max + 256, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    const a = randoms(6);
    const b = randoms(3);
    const y = { buffer: slab, dtype: "f32" as const, shape: [2, 3] };
    f32.launch({
      a: createTensor(device, "f32", [2, 3], a),
      b: createTensor(device, "f32", [3], b),
      y,
      scale: 2,
    });
    const want = Float32Array.from(a, (v, j) => Math.fround(Math.fround(v * 2) + b[j % 3]));
    expectClose(await readTensor(device, y), want, (w) => Math.abs(w) * 2 ** -21 + 1e-30);
    slab.destroy();
  });

  it("keeps each launch's uniforms when many launches share one caller pass", async () => {
    // More distinct uniform blocks than the pool holds, all recorded before one submit: a pool
    // that rewrote buffers here would give every launch the last scale.
    const rows = 2;
    const cols = 3;
    const a = randoms(rows * cols);
    const b = randoms(cols);
    const ta = createTensor(device, "f32", [rows, cols], a);
    const tb = createTensor(device, "f32", [cols], b);
    const scales = Array.from({ length: 24 }, (_, i) => i + 0.5);
    const outs = scales.map(() => createTensor(device, "f32", [rows, cols]));
    outs.forEach((t) => poison(device, t));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    scales.forEach((scale, i) => f32.launch({ a: ta, b: tb, y: outs[i], scale }, { pass }));
    pass.end();
    device.queue.submit([encoder.finish()]);
    for (const [i, scale] of scales.entries()) {
      const want = Float32Array.from(a, (v, j) => Math.fround(Math.fround(v * scale) + b[j % cols]));
      expectClose(await readTensor(device, outs[i]), want, (w) => Math.abs(w) * 2 ** -21 + 1e-30);
    }
  });

  it("reuses uniform buffers and bind groups across self-submitted launches", async () => {
    const k = await loadKernel(device, info, affineManifest("f32"), affineWgsl("f32"));
    const a = randoms(6);
    const b = randoms(3);
    const ta = createTensor(device, "f32", [2, 3], a);
    const tb = createTensor(device, "f32", [3], b);
    const ty = createTensor(device, "f32", [2, 3]);
    for (let i = 0; i < 50; i++) k.launch({ a: ta, b: tb, y: ty, scale: 2 });
    expect(k.stats).toMatchObject({ uniformBuffers: 1, bindGroups: 1 });

    // Changing scalars every launch: buffers are recycled, not piled up.
    const scales = Array.from({ length: 40 }, (_, i) => -i - 0.25);
    const outs = scales.map(() => createTensor(device, "f32", [2, 3]));
    scales.forEach((scale, i) => k.launch({ a: ta, b: tb, y: outs[i], scale }));
    expect(k.stats.uniformBuffers).toBeLessThanOrEqual(16);
    expect(k.stats.pooledUniformBuffers).toBeLessThanOrEqual(16);
    for (const [i, scale] of scales.entries()) {
      const want = Float32Array.from(a, (v, j) => Math.fround(Math.fround(v * scale) + b[j % 3]));
      expectClose(await readTensor(device, outs[i]), want, (w) => Math.abs(w) * 2 ** -21 + 1e-30);
    }
    k.destroy();
  });

  it("times a launch", async () => {
    const ta = createTensor(device, "f32", [64, 64], randoms(4096));
    const tb = createTensor(device, "f32", [64], randoms(64));
    const ty = createTensor(device, "f32", [64, 64]);
    const t = await timestamp(device, (pass) => f32.launch({ a: ta, b: tb, y: ty, scale: 1 }, { pass }));
    expect(t.ms).toBeGreaterThan(0);
    expect(Number.isFinite(t.ms)).toBe(true);
    expect(t.wallMs).toBeGreaterThan(0);
    if (!info.features.includes("timestamp-query")) expect(t.source).toBe("wall-clock");
  });
});

describe("symbolic shapes", () => {
  let k: LoadedKernel;
  beforeAll(async () => {
    k = await loadKernel(device, info, segsumManifest, segsumWgsl);
  });

  it("sums segments given by an i32 [batch + 1] offsets tensor", async () => {
    const lengths = [3, 0, 5, 1, 7, 2];
    const offsets = [0];
    for (const l of lengths) offsets.push(offsets[offsets.length - 1] + l);
    const n = offsets[offsets.length - 1];
    const values = randoms(n);
    const out = createTensor(device, "f32", [lengths.length]);
    poison(device, out);
    const args = {
      offsets: createTensor(device, "i32", [lengths.length + 1], offsets),
      values: createTensor(device, "f32", [n], values),
      out,
    };
    expect(bindArgs(segsumManifest, args).dims).toEqual({ batch: 6, n });
    k.launch(args);
    const want = lengths.map((_, s) => {
      let acc = 0;
      for (let i = offsets[s]; i < offsets[s + 1]; i++) acc = Math.fround(acc + values[i]);
      return acc;
    });
    expectClose(await readTensor(device, out), want, () => 0);
    expect(Array.from(await readTensor(device, args.offsets))).toEqual(offsets);
  });

  it("rejects a size that does not match `batch + 1`", () => {
    const args: Record<string, TensorBinding> = {
      offsets: createTensor(device, "i32", [4]),
      values: createTensor(device, "f32", [10]),
      out: createTensor(device, "f32", [4]),
    };
    expect(() => k.launch(args)).toThrow(
      /^segsum\.f32: argument 'offsets' has shape \[4\] but the kernel expects \[batch \+ 1\], i\.e\. \[5\] with batch = 4$/,
    );
  });
});

describe("uniform packing", () => {
  it("writes each field at its offset with its type (checked in JS)", () => {
    const bytes = packUniforms("echo", echoManifest.wgsl!.uniforms, {
      dims: { n: 3, m: 7 },
      scalars: { k: -7, alpha: 1.5, flag: 0xfffffffe },
    });
    const v = new DataView(bytes.buffer);
    expect(bytes.length).toBe(32);
    expect([v.getUint32(0, true), v.getInt32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).toEqual([
      3, -7, 0, 7,
    ]);
    expect([
      v.getFloat32(16, true),
      v.getUint32(20, true),
      v.getUint32(24, true),
      v.getUint32(28, true),
    ]).toEqual([1.5, 0, 0xfffffffe, 0]);
    expect(() =>
      packUniforms("echo", echoManifest.wgsl!.uniforms, {
        dims: { n: -1, m: 7 },
        scalars: { k: 0, alpha: 0, flag: 0 },
      }),
    ).toThrow(/echo: uniform 'n' = -1 does not fit the kernel's u32 field/);
  });

  it("reaches the kernel exactly as the manifest lays it out", async () => {
    const k = await loadKernel(device, info, echoManifest, echoWgsl);
    const out = createTensor(device, "u32", [8]);
    poison(device, out);
    const alpha = Math.fround(Math.random() * 100 - 50);
    const k_ = -1 - Math.floor(Math.random() * 1000);
    k.launch({ out, x: createTensor(device, "f32", [5, 9]), k: k_, alpha, flag: 0xfffffffe });
    const f = new Float32Array([alpha]);
    const alphaBits = new Uint32Array(f.buffer)[0];
    expect(Array.from(await readTensor(device, out))).toEqual([
      5,
      k_ >>> 0,
      0,
      9,
      alphaBits,
      0,
      0xfffffffe,
      0,
    ]);
    expect(() => k.launch({ out, x: createTensor(device, "f32", [5, 9]), k: 1.5, alpha, flag: 0 })).toThrow(
      /scalar argument 'k' must be a i32, got 1\.5/,
    );
  });
});

describe("loading", () => {
  it("refuses a variant whose feature the device lacks, before compiling", async () => {
    const m = affineManifest("f32");
    const needs = {
      ...m,
      wgsl: { ...m.wgsl!, requires: { ...m.wgsl!.requires, features: ["made-up-feature"] } },
    };
    await expect(loadKernel(device, info, needs, affineWgsl("f32"))).rejects.toThrow(
      /^affine\.f32: this device \(.*\) cannot run the kernel: missing feature 'made-up-feature'$/,
    );
    const noF16 = { ...info, features: info.features.filter((f) => f !== "shader-f16") };
    await expect(loadKernel(device, noF16, affineManifest("f16"), affineWgsl("f16"))).rejects.toThrow(
      /affine\.f16: .*cannot run the kernel: missing feature 'shader-f16'/,
    );
  });

  it("refuses a variant that needs more workgroup storage or invocations than the device has", async () => {
    const m = affineManifest("f32");
    const big = {
      ...m,
      wgsl: {
        ...m.wgsl!,
        requires: { ...m.wgsl!.requires, workgroupStorageBytes: 1 << 30, invocations: 1 << 20 },
      },
    };
    await expect(loadKernel(device, info, big, affineWgsl("f32"))).rejects.toThrow(
      new RegExp(
        `needs 1073741824 bytes of workgroup storage but maxComputeWorkgroupStorageSize is ${info.limits.maxComputeWorkgroupStorageSize}; ` +
          `needs 1048576 invocations per workgroup but maxComputeInvocationsPerWorkgroup is ${info.limits.maxComputeInvocationsPerWorkgroup}`,
      ),
    );
  });

  it("reports WGSL errors with file:line:col and the offending line", async () => {
    const bad = [
      "@group(0) @binding(0) var<storage, read_write> y: array<f32>;",
      "fn f() -> i32 {",
      "  let x: i32 = 1.5;",
      "  return x;",
      "}",
      "@compute @workgroup_size(1) fn main() { y[0] = f32(f()); }",
    ].join("\n");
    const m = affineManifest("f32");
    await expect(
      loadKernel(device, info, { ...m, wgsl: { ...m.wgsl!, file: "bad.wgsl" } }, bad),
    ).rejects.toThrow(
      /^affine\.f32: WGSL compilation failed\nbad\.wgsl:3:16: error: [^\n]+\n {4} {2}let x: i32 = 1\.5;\n {4} {15}\^+/,
    );
  });

  it("rejects an inconsistent manifest", async () => {
    const m = affineManifest("f32", { dims: ["rows", "cols", "heads"] });
    await expect(loadKernel(device, info, m, affineWgsl("f32"))).rejects.toThrow(
      /bad manifest: runtime dimension 'heads' cannot be inferred from any tensor shape/,
    );
  });
});

describe("pickVariant", () => {
  it("picks the subgroup variant only when the adapter's subgroupMinSize satisfies it", async () => {
    const fallback = affineManifest("f32");
    const min = info.subgroupMinSize;
    if (min === undefined || !info.features.includes("subgroups")) {
      expect(pickVariant([subgroupVariant(4), fallback], info)).toBe(fallback);
      return;
    }
    const tooWide = subgroupVariant(min * 2);
    const fits = subgroupVariant(min);
    expect(pickVariant([tooWide, fallback], info)).toBe(fallback);
    expect(pickVariant([tooWide, fits, fallback], info)).toBe(fits);
    expect(pickVariant([subgroupVariant(Math.max(1, min / 2)), fallback], info).name).toBe(
      `affine.f32.sg${Math.max(1, min / 2)}`,
    );
    // An adapter that reports no subgroup sizes satisfies no minimum.
    expect(pickVariant([fits, fallback], { ...info, subgroupMinSize: undefined })).toBe(fallback);
    expect(() => pickVariant([tooWide], info)).toThrow(
      new RegExp(
        `no variant of kernel 'affine' can run on this device:\\n  affine\\.f32\\.sg${min * 2}: needs subgroups of at least ${min * 2} lanes but the adapter's subgroupMinSize is ${min}`,
      ),
    );
    expect(() => pickVariant([fits, affineManifest("f16")], info)).toThrow(
      /'affine\.f16' is not a variant of 'affine\.f32\.sg\d+'/,
    );

    // The chosen subgroup variant runs and agrees with JS.
    const k = await loadKernel(device, info, fits, affineSubgroupWgsl);
    const a = randoms(100);
    const b = randoms(10);
    const ty = createTensor(device, "f32", [10, 10]);
    poison(device, ty);
    k.launch({
      a: createTensor(device, "f32", [10, 10], a),
      b: createTensor(device, "f32", [10], b),
      y: ty,
      scale: 3,
    });
    const want = Float32Array.from(a, (v, i) => Math.fround(Math.fround(v * 3) + b[i % 10]));
    expectClose(await readTensor(device, ty), want, (w) => Math.abs(w) * 2 ** -21 + 1e-30);
  });
});

describe("half conversion", () => {
  it("round-trips every f16 and bf16 bit pattern", () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = f16BitsToF32(h);
      if (Number.isNaN(f)) expect((f32ToF16Bits(f) & 0x7e00) === 0x7e00).toBe(true);
      else if (f32ToF16Bits(f) !== h) expect([h, f32ToF16Bits(f)]).toEqual([h, h]);
      const g = bf16BitsToF32(h);
      if (!Number.isNaN(g) && f32ToBf16Bits(g) !== h) expect([h, f32ToBf16Bits(g)]).toEqual([h, h]);
    }
  });

  it("rounds to nearest, ties to even", () => {
    for (let h = 0; h < 0x7bff; h++) {
      // Halfway between neighbours goes to the even one; just above/below goes to the nearer.
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in f32
      const even = h % 2 === 0 ? h : h + 1;
      if (f32ToF16Bits(mid) !== even || f32ToF16Bits(-mid) !== (even | 0x8000))
        expect([h, f32ToF16Bits(mid)]).toEqual([h, even]);
    }
    for (let h = 0; h < 0x7f7f; h += 7) {
      const mid = (bf16BitsToF32(h) + bf16BitsToF32(h + 1)) / 2;
      expect(f32ToBf16Bits(mid)).toBe(h % 2 === 0 ? h : h + 1);
    }
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // halfway to the next (unrepresentable) step: Inf
    expect(f32ToF16Bits(2 ** -24)).toBe(1);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN)).toBe(0x7e00);
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(NaN)).toBe(0x7fc0);
    expect(f32ToBf16Bits(3.4e38)).toBe(0x7f80);
  });

  it("uploads, poisons and reads back bf16 tensors", async () => {
    const vals = [1, -2.5, 3.14159, 1e-3, 65504, -0];
    const t = createTensor(device, "bf16", [vals.length], vals);
    expect(Array.from(await readTensor(device, t))).toEqual(vals.map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
    poison(device, t);
    expect((await readTensor(device, t)).every(Number.isNaN)).toBe(true);
    const raw = createTensor(device, "f16", [3], new Uint16Array([0x3c00, 0xc000, 0x7c00]));
    expect(Array.from(await readTensor(device, raw))).toEqual([1, -2, Infinity]);
  });
});
