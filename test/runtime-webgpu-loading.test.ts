// The WebGPU runtime on a real device (Mesa lavapipe here, any adapter elsewhere): hand-written
// WGSL kernels and hand-written manifests (test/harness/webgpu-fixtures.ts), results checked
// element by element against JS.
// This file: getting a device, loading kernels, and picking the variant a device can run.
import { describe, expect, it } from "vitest";
import {
  createTensor,
  getDevice,
  loadKernel,
  pickVariant,
  poison,
  readTensor,
  type DeviceInfo,
} from "../runtime/backends/webgpu/index.ts";
import {
  affineManifest,
  affineWgsl,
  affineSubgroupWgsl,
  subgroupVariant,
  randoms,
  expectClose,
  useTestDevice,
} from "./harness/webgpu-fixtures.ts";

let device: GPUDevice;
let info: DeviceInfo;
let adapter: GPUAdapter;
useTestDevice((gpu) => ({ device, info, adapter } = gpu));

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
