// What a kernel author sees for common mistakes: each test compiles one small, complete spec
// (given as text under a virtual path under test/virtual/, which is never read from disk; only
// imports of kernels-src/ files are) and pins every error's message, its 1-based line and column
// as `file:line:col: error:` prints them, what it points at, and its hint.
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostic } from "../compiler/diagnostics/format.ts";
import { lineCol } from "../compiler/diagnostics/source.ts";
import { compileSources } from "../compiler/generate.ts";

interface Expected {
  message: string;
  line: number;
  col: number;
  /** The source text the error points at (what its span starts with). */
  at: string;
  hint?: string;
  notes?: { message: string; line: number; col: number }[];
}

function located(d: { span?: Diagnostic["span"] }) {
  expect(d.span, "a diagnostic must point into the spec").toBeDefined();
  return lineCol(d.span!.file, d.span!.start);
}

/** Compile one spec file and return its errors. */
function errorsOf(path: string, text: string): Diagnostic[] {
  const { diags } = compileSources({ [path]: text });
  return diags.list.filter((d) => d.severity === "error");
}

/**
 * The spec's errors must be exactly `expected`, in order: same messages, hints and notes, at the
 * same line and column, each pointing at its `at` text, printed as `path:line:col: error: message`.
 */
function expectErrors(path: string, text: string, expected: Expected[]): Diagnostic[] {
  const errors = errorsOf(path, text);
  const actual = errors.map((d, i) => {
    const { line, col } = located(d);
    const at = expected[i]?.at ?? "";
    const out: Expected = { message: d.message, line, col, at: text.startsWith(at, d.span!.start) ? at : text.slice(d.span!.start, d.span!.start + 12) };
    if (d.hint !== undefined) out.hint = d.hint;
    if (d.notes?.length) out.notes = d.notes.map((n) => ({ message: n.message, ...located(n) }));
    return out;
  });
  expect(actual).toEqual(expected);
  errors.forEach((d, i) => {
    const e = expected[i];
    const formatted = formatDiagnostic(d);
    expect(formatted.startsWith(`${path}:${e.line}:${e.col}: error: ${e.message}\n`), formatted).toBe(true);
    if (e.hint) expect(formatted).toContain(`\nhint: ${e.hint}`);
    for (const n of e.notes ?? []) expect(formatted).toContain(`\n${path}:${n.line}:${n.col}: note: ${n.message}`);
  });
  return errors;
}

describe("syntax errors", () => {
  it("a missing ')' is reported, and recovery still finds an independent error further down", () => {
    const path = "test/virtual/syntax-paren.ts";
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel add<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B
  let a = load x[r] where r < n
  store y[r] = a + 1.0 where r < n
  let b = (a + 2.0 *
  store y[r] = b where r < n
}
\`;
`;
    expectErrors(path, src, [
      { message: "expected ')' but found 'let'", line: 6, col: 3, at: "let a", hint: "is a ')' missing?" },
      { message: "unexpected 'store': expected an expression", line: 9, col: 3, at: "store y" },
    ]);
  });

  it("an unexpected character", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel add<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B) # 2
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/syntax-char.ts", src, [{ message: "unexpected character '#'", line: 5, col: 22, at: "# 2" }]);
  });
});

describe("names", () => {
  it("an unknown name gets a 'did you mean'", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel cp<B = 64>(src: f32[n], dst: f32[n], q_len: i32) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load src[r] where r < q_lem
  store dst[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/unknown-name.ts", src, [
      { message: "unknown name 'q_lem'", line: 6, col: 33, at: "q_lem", hint: "did you mean 'q_len'?" },
    ]);
  });

  it("an unknown function gets a 'did you mean'", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel ex<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  store y[r] = exq(a) where r < n
}
\`;
`;
    expectErrors("test/virtual/unknown-fn.ts", src, [
      { message: "unknown function 'exq'", line: 7, col: 16, at: "exq(", hint: "did you mean 'exp'?" },
    ]);
  });

  it("unknown tensors in a load and in a store", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel cp<B = 64>(src: f32[n], dst: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load srx[r] where r < n
  store dsr[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/unknown-tensor.ts", src, [
      { message: "unknown tensor 'srx'", line: 6, col: 16, at: "srx[", hint: "did you mean 'src'?" },
      { message: "unknown tensor 'dsr'", line: 7, col: 9, at: "dsr[", hint: "did you mean 'dst'?" },
    ]);
  });

  it("assigning to a variable that was never declared", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel sum<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let a = load x[r] where r < n
  total = a
  store y[r] = a where r < n
}
\`;
`;
    expectErrors("test/virtual/assign-undeclared.ts", src, [
      { message: "cannot assign to 'total': it is not declared", line: 7, col: 3, at: "total =", hint: "declare it first: let total = ..." },
    ]);
  });
});

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
      { message: "unknown dtype 'f61'", line: 6, col: 10, at: "f61 =", hint: "use f32, f16, bf16, i32, u32 or bool" },
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

describe("control flow", () => {
  it("return inside a loop", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel rl<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let acc = zeros(1, B)
  for j in tiles(n, B) {
    if j > 3 { return }
    acc = acc + load x[cols(j, B)] where cols(j, B) < n
  }
  store y[r] = acc where r < n
}
\`;
`;
    expectErrors("test/virtual/return-in-loop.ts", src, [
      {
        message: "return cannot appear inside a loop",
        line: 8,
        col: 16,
        at: "return }",
        hint: "the whole tile program must leave together: return from an if at the kernel's top level",
      },
    ]);
  });
});

describe("more control flow and type rules", () => {
  it("a per-element condition in an if, and a function that calls itself", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
fn again(a) {
  return again(a)
}

kernel ctl<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let v = load x[r] where r < n
  if r < n { store y[r] = v }
  store y[r] = again(v) where r < n
}
\`;
`;
    expectErrors("test/virtual/control.ts", src, [
      {
        message: "an if condition must be a scalar boolean, found bool[1, 64]",
        line: 11,
        col: 6,
        at: "r < n {",
        hint: "to choose per element, use where(cond, a, b)",
      },
      {
        message: "'again' calls itself; functions are inlined and cannot recurse",
        line: 5,
        col: 10,
        at: "again(a)",
        notes: [{ message: "in the call to 'again' here", line: 12, col: 16 }],
      },
    ]);
  });

  it("assigning to a compile-time parameter", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel md<B = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  B = 32
  store y[r] = load x[r] where r < n where r < n
}
\`;
`;
    expectErrors("test/virtual/param-assign.ts", src, [
      { message: "cannot assign to 'B': it is a compile-time parameter", line: 6, col: 3, at: "B", hint: "copy it into a variable first: let v = B" },
    ]);
  });

  it("assigning to a scalar argument or a runtime dimension", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel sa(x: f32[n], y: f32[n], s: f32) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  s = 2.0
  n = 3
  store y[r] = (load x[r] where r < n) * s where r < n
}
\`;
`;
    expectErrors("test/virtual/scalar-assign.ts", src, [
      { message: "cannot assign to 's': it is a scalar argument", line: 6, col: 3, at: "s", hint: "copy it into a variable first: let v = s" },
      { message: "cannot assign to 'n': it is a runtime dimension", line: 7, col: 3, at: "n", hint: "copy it into a variable first: let v = n" },
    ]);
  });

  it("'%' on floats", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel mf(x: f32[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  let v = load x[r] where r < n
  store y[r] = v % 2 where r < n
}
\`;
`;
    expectErrors("test/virtual/float-rem.ts", src, [{ message: "'%' needs integer operands, found f32", line: 7, col: 16, at: "v % 2" }]);
  });
});

describe("compile-time parameters", () => {
  it("an unmet require clause without a message names the parameter values", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel rq<D = 100>
  require D % 16 == 0
(x: f32[n, D], y: f32[n, D]) grid (i in tiles(n, 16)) {
  let r = rows(i, 16)
  store y[r, :] = load x[r, :] where r < n
}
\`;
`;
    expectErrors("test/virtual/require.ts", src, [
      { message: "requirement not met (D = 100)", line: 5, col: 11, at: "D % 16 == 0", hint: "change the parameter values or relax the require clause" },
    ]);
  });

  it("an unmet require clause with a message names the parameter values", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel rq<D = 100, B = 16>
  require D % B == 0 "D must be a multiple of B"
(x: f32[n, D], y: f32[n, D]) grid (i in tiles(n, B)) {
  let r = rows(i, B)
  store y[r, :] = load x[r, :] where r < n
}
\`;
`;
    expectErrors("test/virtual/require-message.ts", src, [{ message: "D must be a multiple of B (D = 100, B = 16)", line: 5, col: 11, at: "D % B == 0" }]);
  });

  it("a parameter whose value is of the wrong kind, and an unknown kind", () => {
    const wrongKind = `import { kernel } from "flashtile";

export const k = kernel\`
kernel pk<B: int = 2.5, T: dtype = 64>(x: f32[n], y: f32[n]) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/param-kind.ts", wrongKind, [
      { message: "parameter 'B' is declared int but its value 2.5 is float", line: 4, col: 11, at: "B: int" },
      { message: "parameter 'T' is declared dtype but its value 64 is int", line: 4, col: 25, at: "T: dtype" },
    ]);
    const unknownKind = `import { kernel } from "flashtile";

export const k = kernel\`
kernel pk<B: integer = 16>(x: f32[n], y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/param-unknown-kind.ts", unknownKind, [
      { message: "unknown parameter kind 'integer'", line: 4, col: 14, at: "integer", hint: "use int, float, bool or dtype" },
    ]);
  });

  it("a tile size that is not a compile-time constant", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel nc(x: f32[n], y: f32[n], w: i32) grid (i in tiles(n, 16)) {
  let r = cols(i, w)
  let z = zeros(1, n)
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/tile-size.ts", src, [
      { message: "a tile size must be a compile-time integer", line: 5, col: 19, at: "w)", hint: "use a literal or a compile-time parameter" },
      { message: "a tile size must be a compile-time integer", line: 6, col: 20, at: "n)", hint: "use a literal or a compile-time parameter" },
    ]);
  });
});

describe("backend limits", () => {
  it("too much workgroup memory (BLOCK_M = 128, HEAD_DIM = 128 in f32)", () => {
    const src = `import { kernel } from "flashtile";
import { onlineSoftmax } from "../../kernels-src/lib/softmax.ts";

export const k = kernel\`\${onlineSoftmax}
kernel attn<BLOCK_M = 128, HEAD_DIM = 128, BLOCK_N = 64>
(q: f32[t, HEAD_DIM], k: f32[t, HEAD_DIM], v: f32[t, HEAD_DIM], o: f32[t, HEAD_DIM])
grid (m in tiles(t, BLOCK_M)) {
  let qi = rows(m, BLOCK_M)
  let Q = load q[qi, :] where qi < t
  let state = softmax_init(BLOCK_M, HEAD_DIM)
  for n in tiles(t, BLOCK_N) {
    let kr = rows(n, BLOCK_N)
    let K = load k[kr, :] where kr < t
    let V = load v[kr, :] where kr < t
    state = softmax_step(state, dot(Q, K^T), V)
  }
  store o[qi, :] = softmax_finish(state) where qi < t
}
\`;
`;
    const path = "test/virtual/workgroup-memory.ts";
    expectErrors(path, src, [
      {
        message: "attn: needs 132352 bytes of workgroup memory but at most 32768 are available",
        line: 5,
        col: 8,
        at: "attn<",
        hint: "use smaller BLOCK_M/BLOCK_N for this head size",
      },
    ]);
    // The same kernel fits with smaller tiles.
    const fits = compileSources({ [path]: src.replace("BLOCK_M = 128", "BLOCK_M = 16").replace("BLOCK_N = 64", "BLOCK_N = 16") });
    expect(fits.diags.list.map(formatDiagnostic)).toEqual([]);
    expect(fits.kernels.map((k) => k.name)).toEqual(["attn"]);
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

describe("configurations a spec rejects", () => {
  it("a page size the key tile cannot serve is rejected by the spec's require, with its message", async () => {
    const fs = await import("node:fs");
    const src = fs.readFileSync("kernels-src/gqa.ts", "utf8").replace("PAGE in [1, 16, 64]", "PAGE in [48]");
    const errors = expectErrors("kernels-src/gqa.ts", src, [
      {
        message: "a key tile must hold whole pages or lie inside one page (PAGE = 48, BLOCK_N = 32)",
        line: 12,
        col: 11,
        at: "PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0",
      },
    ]);
    // Every instance with that page size is rejected; none is generated.
    expect(errors).toHaveLength(1);
    expect(compileSources({ "kernels-src/gqa.ts": src }).kernels).toEqual([]);
  });
});
