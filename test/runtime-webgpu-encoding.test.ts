// The WebGPU runtime on a real device (Mesa lavapipe here, any adapter elsewhere): hand-written
// WGSL kernels and hand-written manifests (test/harness/webgpu-fixtures.ts), results checked
// element by element against JS.
// This file: how values reach the GPU: uniform packing and half-precision conversion.
import { describe, expect, it } from "vitest";
import {
  bf16BitsToF32,
  createTensor,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  loadKernel,
  packUniforms,
  poison,
  readTensor,
  type DeviceInfo,
} from "../runtime/backends/webgpu/index.ts";
import { echoManifest, echoWgsl, useTestDevice } from "./harness/webgpu-fixtures.ts";

let device: GPUDevice;
let info: DeviceInfo;
useTestDevice((gpu) => ({ device, info } = gpu));

// ---------------------------------------------------------------------------------------------

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
