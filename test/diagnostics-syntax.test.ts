// What a kernel author sees for common mistakes: each test compiles one small, complete spec
// (given as text under a virtual path under test/virtual/, which is never read from disk; only
// imports of kernels-src/ files are) and pins every error's message, its 1-based line and column
// as `file:line:col: error:` prints them, what it points at, and its hint.
// This file: syntax errors and recovery, names, and control-flow and assignment rules; the types
// and shapes of values are in diagnostics-types.test.ts, compile-time parameters in
// diagnostics-params.test.ts.
import { describe, it } from "vitest";
import { expectErrors } from "./harness/diagnostics.ts";

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
