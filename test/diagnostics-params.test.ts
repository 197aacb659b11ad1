// What a kernel author sees for common mistakes: each test compiles one small, complete spec
// (given as text under a virtual path under test/virtual/, which is never read from disk; only
// imports of kernels-src/ files are) and pins every error's message, its 1-based line and column
// as `file:line:col: error:` prints them, what it points at, and its hint.
// This file: compile-time parameters and require clauses, backend limits, and configurations a
// spec rejects.
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../compiler/diagnostics/format.ts";
import { compileSources } from "../compiler/generate.ts";
import { expectErrors } from "./harness/diagnostics.ts";

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

describe("configurations a spec rejects", () => {
  it("a page size the key tile cannot serve is rejected by the spec's require, with its message", async () => {
    const fs = await import("node:fs");
    // Every page list (gqa_paged's and its FP8 alias's) asks for 48.
    const src = fs.readFileSync("kernels-src/gqa.ts", "utf8").replace(/PAGE in \[[^\]]*\]/g, "PAGE in [48]");
    // The require's own line in the spec (the first of its kind there, gqa_paged's).
    const line = src.split("\n").findIndex((l) => l.startsWith("  require PAGE % BLOCK_N == 0")) + 1;
    expect(line).toBeGreaterThan(0);
    const errors = expectErrors("kernels-src/gqa.ts", src, [
      {
        message: "a key tile must hold whole pages or lie inside one page (PAGE = 48, BLOCK_N = 32)",
        line,
        col: 11,
        at: "PAGE % BLOCK_N == 0 || BLOCK_N % PAGE == 0",
      },
    ]);
    // Every instance with that page size is rejected; none is generated.
    expect(errors).toHaveLength(1);
    expect(compileSources({ "kernels-src/gqa.ts": src }).kernels).toEqual([]);
  });
});
