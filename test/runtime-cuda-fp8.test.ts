// The CUDA runtime without a GPU: the addon builds, loads, and fails init() with one clear error
// when there is no driver; every pure step of a launch (argument checks with the WebGPU runtime's
// messages, dims inference, the by-value param struct byte for byte, the grid) against
// hand-written manifests; fp8 E4M3 over all 256 codes; and the whole runtime end to end over a
// fake libcuda (runtime/backends/cuda/testing/fake_libcuda.c, host memory and a CPU axpy).
// What needs a real GPU is in runtime/backends/cuda/selftest.mjs, run on a GPU machine.
// This file: fp8 E4M3 encoding and decoding, and the poison patterns.
import { describe, expect, it } from "vitest";
import { decodeE4m3, e4m3BitsToF32, encodeE4m3, f32ToE4m3Bits, POISON, roundToE4m3 } from "../runtime/backends/cuda/index.ts";

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

  it("encodes arrays on the f32 bits exactly as value by value: codes, midpoints and their neighbours, specials, random bit patterns", () => {
    const bits = new Uint32Array(1 << 20);
    const f = new Float32Array(bits.buffer);
    let i = 0;
    const put = (x: number) => (f[i++] = x);
    for (let c = 0; c < 256; c++) put(e4m3BitsToF32(c));
    for (let c = 0; c < 0x7e; c++) {
      const mid = Math.fround((e4m3BitsToF32(c) + e4m3BitsToF32(c + 1)) / 2);
      for (const s of [1, -1]) {
        put(s * mid);
        f[i] = s * mid;
        bits[i] += 1; // one f32 ulp above and below the midpoint in magnitude
        i++;
        f[i] = s * mid;
        bits[i] -= 1;
        i++;
      }
    }
    for (const x of [464, -464, 464.00003, 480, 1e6, -1e6, Infinity, -Infinity, NaN, -NaN, 0, -0, 2 ** -10, 3 * 2 ** -11, 2 ** -149, -(2 ** -149), 2 ** -6, 2 ** -6 - 2 ** -30]) put(x);
    bits[i++] = 0xffc00001; // a negative NaN with a payload
    let seed = 12345;
    for (; i < bits.length; i++) bits[i] = seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    for (const saturate of [false, true]) {
      const fast = encodeE4m3(f, saturate);
      const slow = Uint8Array.from(f, (x) => f32ToE4m3Bits(x, saturate));
      const bad = [...fast.keys()].filter((k) => fast[k] !== slow[k]).slice(0, 5);
      expect(bad.map((k) => `${f[k]} (0x${bits[k].toString(16)}): ${fast[k]} vs ${slow[k]}`), `saturate ${saturate}`).toEqual([]);
    }
    // Decoding in bulk (a table) gives each code's value, NaN codes included.
    const codes = Uint8Array.from({ length: 256 }, (_, c) => c);
    expect([...decodeE4m3(codes)]).toEqual([...codes].map(e4m3BitsToF32));
    // Numbers as well as Float32Array, rounded to f32 first: 1 + 2^-4 + 1e-12 is the f32 tie
    // 1 + 2^-4 (to even, 1.0); 2^-20 above it survives and rounds up to 1.125.
    expect([...encodeE4m3([448, 1 + 2 ** -4, 1 + 2 ** -4 + 1e-12, 1 + 2 ** -4 + 2 ** -20, -(2 ** -10)])]).toEqual([0x7e, 0x38, 0x38, 0x39, 0x80]);
  });

  it("poison patterns are NaN in every float dtype", () => {
    expect(POISON.f32).toEqual({ width: 4, value: 0x7fc00000 });
    expect(POISON.f16).toEqual({ width: 2, value: 0x7e00 });
    expect(POISON.bf16).toEqual({ width: 2, value: 0x7fc0 });
    expect(POISON.f8e4m3).toEqual({ width: 1, value: 0x7f });
    expect(Number.isNaN(e4m3BitsToF32(POISON.f8e4m3.value))).toBe(true);
  });
});
