// What a kernel author sees for common mistakes: each test compiles one small, complete spec
// (given as text under a virtual path under test/virtual/, which is never read from disk; only
// imports of kernels-src/ files are) and pins every error's message, its 1-based line and column
// as `file:line:col: error:` prints them, what it points at, and its hint.
// This file: dtypes and shapes, and calls (tensor accesses, several errors in one run and fp8
// tensors: diagnostics-access.test.ts).
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../compiler/diagnostics/format.ts";
import { compileSources } from "../compiler/generate.ts";
import { expectErrors, located } from "./harness/diagnostics.ts";

describe("types and shapes", () => {
  it("adding an f32 tile to an f16 tile", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel mix<B = 64>(x: f32[n], h: f16[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  let c = load h[r] where r < n
  store y[r] = a + c where r < n
}
\`;
`;
    expectErrors("test/virtual/dtype-add.ts", src, [
      { message: "dtype mismatch in '+': f32[1, 64] and f16[1, 64]", line: 8, col: 16, at: "a + c", hint: "convert one side explicitly, e.g. f16(x)" },
    ]);
  });

  it("storing an f32 tile into an f16 tensor", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel narrow<B = 64>(x: f32[n], y: f16[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/dtype-store.ts", src, [
      { message: "dtype mismatch in the store to 'y': expected f16 but found f32[1, 64]", line: 7, col: 16, at: "a where", hint: "convert it explicitly with f16(...)" },
    ]);
  });

  it("dot of tiles whose inner dimensions differ", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel mm(a: f32[m, 32], b: f32[16, 64], c: f32[m, 64]) grid (i in tiles(m, 16)) {
  let r = rows(i, 16)
  let A = load a[r, :] where r < m
  let W = load b[:, :]
  store c[r, :] = dot(A, W) where r < m
}
\`;
`;
    expectErrors("test/virtual/dot-shape.ts", src, [
      {
        message: "shape mismatch in dot: f32[16, 32] · f32[16, 64] (inner dimensions 32 and 16 differ)",
        line: 8,
        col: 19,
        at: "dot(A, W)",
        hint: "dot(a, b) multiplies a [m, k] tile by a [k, n] tile; transpose with ^T if needed",
      },
    ]);
  });

  it("an elementwise operation on tiles that do not broadcast", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel bc(a: f32[m, 32], b: f32[m, 16], c: f32[m, 32]) grid (i in tiles(m, 16)) {
  let r = rows(i, 16)
  let A = load a[r, :] where r < m
  let Bv = load b[r, :] where r < m
  store c[r, :] = A * Bv where r < m
}
\`;
`;
    expectErrors("test/virtual/broadcast.ts", src, [
      {
        message: "shape mismatch in '*': f32[16, 32] and f32[16, 16] do not broadcast",
        line: 8,
        col: 19,
        at: "A * Bv",
        hint: "tiles combine when each dimension is equal or 1",
      },
    ]);
  });

  it("a non-boolean condition in where(...), a load predicate and a loop mask", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel pr<B = 64>(x: f32[n], y: f32[n], z: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = where(a, a, 0.0) where r < n
  let b = load x[r] where r + 1
  let acc = zeros(1, B)
  for j in tiles(n, B) mask live = cols(j, B) {
    acc = acc + load x[cols(j, B)] where cols(j, B) < n
  }
  store z[r] = acc where r < n
}
\`;
`;
    expectErrors("test/virtual/predicates.ts", src, [
      { message: "a condition must be boolean, found f32[1, 64]", line: 7, col: 16, at: "where(a, a, 0.0)" },
      { message: "a load predicate must be boolean, found i32[1, 64]", line: 8, col: 27, at: "r + 1" },
      { message: "a loop mask must be boolean, found i32[1, 64]", line: 10, col: 36, at: "cols(j, B) {" },
    ]);
  });

  it("a loop-carried variable that changes shape", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel cs(x: f32[n, 64], y: f32[n, 64]) grid (i in tiles(n, 16)) {
  let r = rows(i, 16)
  let acc = zeros(16, 1)
  for j in tiles(n, 16) {
    acc = acc + load x[r, :] where r < n
  }
  store y[r, :] = acc where r < n
}
\`;
`;
    expectErrors("test/virtual/carried-shape.ts", src, [
      {
        message: "'acc' changes shape from f32[16, 1] to f32[16, 64]",
        line: 8,
        col: 11,
        at: "acc + load",
        hint: "a variable keeps its type; introduce a new name with let",
      },
    ]);
  });

  it("unknown dtypes in a tensor parameter and in a let annotation", () => {
    const tensor = `import { kernel } from "flashtile";

export const k = kernel\`
kernel dt(x: f31[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/dtype-unknown.ts", tensor, [{ message: "unknown dtype 'f31'", line: 4, col: 14, at: "f31[n]", hint: "did you mean 'f32'?" }]);
    const annotation = `import { kernel } from "flashtile";

export const k = kernel\`
kernel dt(x: f32[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  let a: f61 = load x[r] where r < n
  store y[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/dtype-unknown-let.ts", annotation, [
      { message: "unknown dtype 'f61'", line: 6, col: 10, at: "f61 =", hint: "use f32, f16, bf16, f8e4m3, i32, u32 or bool" },
    ]);
  });
});

describe("calls", () => {
  it("wrong number of arguments to a user function", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
fn scale(x, s) {
  return x * s
}

kernel sc<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = scale(a, 2.0, 3.0) where r < n
}
\`;
`;
    expectErrors("test/virtual/arity-fn.ts", src, [
      { message: "'scale' takes 2 arguments but 3 were given", line: 11, col: 16, at: "scale(a, 2.0, 3.0)", hint: "declared as fn scale(x, s)" },
    ]);
  });

  it("wrong number of arguments to a builtin", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel ex<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = exp(a, 2.0) where r < n
}
\`;
`;
    expectErrors("test/virtual/arity-builtin.ts", src, [{ message: "'exp' takes 1 argument but 2 were given", line: 7, col: 16, at: "exp(a, 2.0)" }]);
  });

  it("an error inside an inlined function carries a note pointing at the call site", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
fn add2(a, b) {
  return a + b
}

kernel inl<B = 64>(x: f32[n], h: f16[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  let c = load h[r] where r < n
  store y[r] = add2(a, c) where r < n
}
\`;
`;
    expectErrors("test/virtual/inlined.ts", src, [
      {
        message: "dtype mismatch in '+': f32[1, 64] and f16[1, 64]",
        line: 5,
        col: 10,
        at: "a + b",
        hint: "convert one side explicitly, e.g. f16(x)",
        notes: [{ message: "in the call to 'add2' here", line: 12, col: 16 }],
      },
    ]);
  });

  it("an error inside a function of another module points into that module, with a note at the call", () => {
    const libPath = "test/virtual/lib/state.ts";
    const lib = `import { kernel } from "flashtile";

export const stateLib = kernel\`
fn finish(state) {
  let (m, l, acc) = state
  return acc / l
}

fn scaled(s: f32[R, C], k) {
  return s * k
}
\`;
`;
    const path = "test/virtual/uses-lib.ts";
    const src = `import { kernel } from "flashtile";
import { stateLib } from "./lib/state.ts";

export const k = kernel\`\${stateLib}
kernel fin(x: f32[n, 16], h: f16[n, 16], o: f32[n, 16]) grid (i in tiles(n, 16)) {
  let r = rows(i, 16)
  let X = load x[r, :] where r < n
  let H = load h[r, :] where r < n
  store o[r, :] = finish(X) where r < n
  store o[r, :] = scaled(H, 2.0) where r < n
}
\`;
`;
    const errors = compileSources({ [libPath]: lib, [path]: src }).diags.list.filter((d) => d.severity === "error");
    expect(errors.map((d) => ({ file: d.span?.file.path, message: d.message, ...located(d), notes: d.notes?.map((n) => ({ file: n.span?.file.path, message: n.message, ...located(n) })) }))).toEqual([
      {
        file: libPath,
        message: "cannot unpack a single value into 3 names",
        line: 5,
        col: 3,
        notes: [{ file: path, message: "in the call to 'finish' here", line: 9, col: 19 }],
      },
      // a typed parameter is checked at the call, so this one points at the argument
      { file: path, message: "argument 's' should be f32[R, C] but is f16[16, 16]", line: 10, col: 26, notes: undefined },
    ]);
    expect(formatDiagnostic(errors[0])).toMatch(new RegExp(`^${libPath}:5:3: error: cannot unpack a single value into 3 names\\n[^]*\\n${path}:9:19: note: in the call to 'finish' here$`));
    expect(formatDiagnostic(errors[1]).startsWith(`${path}:10:26: error: argument 's' should be f32[R, C] but is f16[16, 16]\n`)).toBe(true);
  });
});
