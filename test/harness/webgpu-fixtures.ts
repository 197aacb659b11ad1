// Fixtures of the WebGPU runtime tests (test/runtime-webgpu-*.test.ts): hand-written WGSL kernels
// with hand-written manifests, random inputs, an element-by-element check, and one device per
// test file.
import { afterAll, beforeAll, expect } from "vitest";
import type { KernelManifest } from "../../runtime/manifest.ts";
import { getDevice, type DeviceHandle } from "../../runtime/backends/webgpu/index.ts";

// ---------------------------------------------------------------------------------------------
// Kernels and manifests

/** y[i, j] = a[i, j] * scale + b[j] over [rows, cols], one invocation per element. */
export function affineManifest(dtype: "f32" | "f16", overrides: Partial<KernelManifest> = {}): KernelManifest {
  return {
    name: `affine.${dtype}`,
    kernel: "affine",
    source: { file: "test/harness/webgpu-fixtures.ts", line: 1 },
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

export function affineWgsl(dtype: "f32" | "f16"): string {
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
export const affineSubgroupWgsl = `enable subgroups;
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

export function subgroupVariant(minSubgroupSize: number): KernelManifest {
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
export const segsumManifest: KernelManifest = {
  name: "segsum.f32",
  kernel: "segsum",
  source: { file: "test/harness/webgpu-fixtures.ts", line: 1 },
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

export const segsumWgsl = `
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
export const echoManifest: KernelManifest = {
  name: "echo_uniforms",
  kernel: "echo_uniforms",
  source: { file: "test/harness/webgpu-fixtures.ts", line: 1 },
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

export const echoWgsl = `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<uniform> u: array<vec4u, 2>;

@compute @workgroup_size(8)
fn main(@builtin(local_invocation_index) i: u32) {
  out[i] = u[i / 4u][i % 4u];
}
`;

// ---------------------------------------------------------------------------------------------
// Helpers

export function randoms(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 4 - 2;
  return a;
}

/** Element-by-element check; reports the first mismatch with its index. */
export function expectClose(
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

// ---------------------------------------------------------------------------------------------
// Device setup

/**
 * One device for the whole test file: requested before its first test (then handed to `ready`),
 * destroyed after its last. Call it at the top level of the file.
 */
export function useTestDevice(ready: (gpu: DeviceHandle) => void): void {
  let device: GPUDevice;

  // Validation errors WebGPU reports asynchronously (bad bind group, bad dispatch) would not fail
  // any single test, so collect them and fail at the end.
  const uncaptured: string[] = [];

  beforeAll(async () => {
    const gpu = await getDevice();
    device = gpu.device;
    device.addEventListener("uncapturederror", (e) =>
      uncaptured.push((e as GPUUncapturedErrorEvent).error.message),
    );
    ready(gpu);
  });
  afterAll(async () => {
    await device.queue.onSubmittedWorkDone();
    device.destroy();
    expect(uncaptured).toEqual([]);
  });
}
