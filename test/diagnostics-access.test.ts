// What a kernel author sees for common mistakes (as diagnostics-types.test.ts: one small spec
// under a virtual path, every error's message, line, column, what it points at and its hint).
// This file: tensor accesses, several errors in one run, and fp8 (f8e4m3) tensors.
import { describe, expect, it } from "vitest";
import { compileSources } from "../compiler/generate.ts";
import { errorsOf, expectErrors, located } from "./harness/diagnostics.ts";

describe("tensor accesses", () => {
  it("a slice wider than a compile-time dimension", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel sl(x: f32[n, 128], y: f32[n, 128]) grid (i in tiles(n, 16)) {
  let r = rows(i, 16)
  let X = load x[r, 0:200] where r < n
  store y[r, :] = X where r < n
}
\`;
`;
    expectErrors("test/virtual/slice-too-wide.ts", src, [
      { message: "tile larger than the dimension: this slice spans up to 200 but dimension 1 of 'x' has 128", line: 6, col: 21, at: "0:200" },
    ]);
  });

  it("rows(m, 256) indexing a compile-time dimension of 128", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel rw(x: f32[128, n], y: f32[128, n]) grid (m in tiles(n, 16)) {
  let r = rows(m, 256)
  let c = cols(m, 16)
  let X = load x[r, c] where c < n
  store y[r, c] = X where c < n
}
\`;
`;
    expectErrors("test/virtual/rows-too-long.ts", src, [
      {
        message: "tile larger than the dimension: 256 positions index dimension 0 of 'x', which has 128",
        line: 7,
        col: 18,
        at: "r, c]",
        hint: "use a smaller tile or slice the dimension",
      },
      {
        message: "tile larger than the dimension: 256 positions index dimension 0 of 'y', which has 128",
        line: 8,
        col: 11,
        at: "r, c]",
        hint: "use a smaller tile or slice the dimension",
      },
    ]);
  });

  it("the wrong number of indices for a tensor", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel ix<B = 64>(x: f32[n, m], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/rank.ts", src, [{ message: "'x' has 2 dimensions but 1 index was given", line: 6, col: 11, at: "load x[r]" }]);
  });
});

describe("several errors in one run", () => {
  it("three independent semantic errors are all reported", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel three(a: f32[m, 32], b: f32[16, 64], h: f16[m, 32], c: f32[m, 64]) grid (i in tiles(m, 16)) {
  let r = rows(i, 16)
  let A = load a[r, :] where r < m
  let H = load h[r, :] where r < m
  let S = A + H
  let W = load b[:, :]
  let P = dot(A, W)
  let Z = load c[r] where r < m
  store c[r, :] = zeros(16, 64) where r < m
}
\`;
`;
    expectErrors("test/virtual/three.ts", src, [
      { message: "dtype mismatch in '+': f32[16, 32] and f16[16, 32]", line: 8, col: 11, at: "A + H", hint: "convert one side explicitly, e.g. f16(x)" },
      {
        message: "shape mismatch in dot: f32[16, 32] · f32[16, 64] (inner dimensions 32 and 16 differ)",
        line: 10,
        col: 11,
        at: "dot(A, W)",
        hint: "dot(a, b) multiplies a [m, k] tile by a [k, n] tile; transpose with ^T if needed",
      },
      { message: "'c' has 2 dimensions but 1 index was given", line: 11, col: 11, at: "load c[r]" },
    ]);
  });
});

describe("fp8 (f8e4m3) tensors", () => {
  it("WGSL reads fp8 through a decoder, stores it with atomics, and refuses other fp8 arithmetic", () => {
    const widen = `import { kernel } from "flashtile";

export const k = kernel\`
kernel widen(x: f8e4m3[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  store y[r] = f32(load x[r] where r < n) * 2.0 where r < n
}
\`;
`;
    const ok = compileSources({ "test/virtual/fp8-widen.ts": widen });
    expect(ok.diags.list.filter((d) => d.severity === "error")).toEqual([]);
    const wgsl = ok.kernels[0].variants[0].code;
    expect(wgsl).toContain("var<storage, read> x: array<u32>;");
    expect(wgsl).toMatch(/fn x_at\(i: u32\) -> f32/);
    expect(ok.kernels[0].variants[0].manifest.tensors[0].dtype).toBe("f8e4m3");
    const store = `import { kernel } from "flashtile";

export const k = kernel\`
kernel quantize(x: f32[n], y: f8e4m3[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  store y[r] = f8e4m3(load x[r] where r < n) where r < n
}
\`;
`;
    const quant = compileSources({ "test/virtual/fp8-store.ts": store });
    expect(quant.diags.list.filter((d) => d.severity === "error")).toEqual([]);
    const qw = quant.kernels[0].variants[0].code;
    expect(qw).toContain("var<storage, read_write> y: array<atomic<u32>>;");
    expect(qw).toMatch(/y_put\(u32\(/);
    const compute = `import { kernel } from "flashtile";

export const k = kernel\`
kernel twice(x: f8e4m3[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  let d = (load x[r] where r < n) * f8e4m3(2.0)
  store y[r] = f32(d) where r < n
}
\`;
`;
    const errs = errorsOf("test/virtual/fp8-compute.ts", compute);
    expect(errs.map((e) => [e.message, e.hint])).toEqual([["twice: the WGSL backend computes nothing in f8e4m3: only loads of fp8 tensors and conversions to f8e4m3", "widen first, with f32(x) or f16(x)"]]);
    expect(located(errs[0]).line).toBe(6);
  });
});
