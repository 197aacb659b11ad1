// The WebGPU runtime on a real device (Mesa lavapipe here, any adapter elsewhere): hand-written
// WGSL kernels and hand-written manifests (test/harness/webgpu-fixtures.ts), results checked
// element by element against JS.
// This file: launching kernels (the affine kernel, its argument checks, uniform and bind group
// reuse, timing) and symbolic shapes.
import { beforeAll, describe, expect, it } from "vitest";
import {
  bindArgs,
  BufferUsage,
  createTensor,
  loadKernel,
  poison,
  readTensor,
  roundToF16,
  timestamp,
  type DeviceInfo,
  type LoadedKernel,
  type Tensor,
  type TensorBinding,
} from "../runtime/backends/webgpu/index.ts";
import {
  affineManifest,
  affineWgsl,
  segsumManifest,
  segsumWgsl,
  randoms,
  expectClose,
  useTestDevice,
} from "./harness/webgpu-fixtures.ts";

let device: GPUDevice;
let info: DeviceInfo;
useTestDevice((gpu) => ({ device, info } = gpu));

// ---------------------------------------------------------------------------------------------

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
