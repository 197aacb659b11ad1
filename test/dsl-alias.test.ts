// Kernel aliases (`kernel b = a<P = v>` plus clauses) and parameters present under a compile-time
// condition (`s: f32[n] if SCALED`): one body serves a kernel and its twin (the FP8-cache specs
// and their bf16/f16 bases). Exact values through the CPU interpreter, the instances' ABI, and
// the errors an author sees.
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileIR, compileSourcesIR, findInstance, interpretCase } from "../compiler/interp/index.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { expectErrors } from "./harness/diagnostics.ts";
import { freshSeed, makeRng, randn } from "./reference/numeric.ts";

const SPEC = `import { kernel } from "flashtile";

export const k = kernel\`
// y = x, or x * s with SCALED: s exists only in the scaled instances.
kernel scale_copy<SCALED: bool = false, B = 4>
  instances B in [4, 8]
(x: f32[n], s: f32[n] if SCALED, y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  let X = load x[r] where r < n
  store y[r] = X * (SCALED ? load s[r] where r < n : 1.0) where r < n
}

kernel scaled_copy = scale_copy<SCALED = true>
  instances B in [8]
\`;
`;

function compile(src: string) {
  const diags = new Diagnostics();
  const irs = compileSourcesIR({ "test/virtual/alias.ts": src }, diags);
  expect(formatDiagnostics(diags.list)).toBe("");
  return irs;
}

describe("kernel aliases and conditional parameters", () => {
  const irs = compile(SPEC);

  it("builds the base's instances and the alias's own, named after each", () => {
    expect(irs.map((k) => k.name).sort()).toEqual(["scale_copy.b4", "scale_copy.b8", "scaled_copy.b8"]);
    expect(findInstance(irs, "scaled_copy.b8").params).toMatchObject({ SCALED: true, B: 8 });
  });

  it("leaves a parameter whose condition is false out of the instance's arguments", () => {
    expect(findInstance(irs, "scale_copy.b4").tensors.map((t) => t.name)).toEqual(["x", "y"]);
    expect(findInstance(irs, "scaled_copy.b8").tensors.map((t) => t.name)).toEqual(["x", "s", "y"]);
  });

  it("computes the branch its condition picks, on fresh random inputs", () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const n = 13;
    const x = Float64Array.from(randn(n, rng));
    const s = Float64Array.from(randn(n, rng));
    const out = { y: { dtype: "f32" as const, shape: [n] } };
    const plain = interpretCase(findInstance(irs, "scale_copy.b8"), { inputs: { x: { dtype: "f32", shape: [n], data: x } }, outputs: out });
    expect([...plain.y], `seed ${seed}`).toEqual([...x]);
    const scaled = interpretCase(findInstance(irs, "scaled_copy.b8"), { inputs: { x: { dtype: "f32", shape: [n], data: x }, s: { dtype: "f32", shape: [n], data: s } }, outputs: out });
    expect([...scaled.y], `seed ${seed}`).toEqual([...x].map((v, i) => Math.fround(v * s[i])));
  });

  it("an FP8 twin of a paged spec is an alias: the cache in E4M3 and two descales, nothing else changed", () => {
    const diags = new Diagnostics();
    const gqa = compileIR(["kernels-src/gqa.ts"], diags);
    expect(formatDiagnostics(diags.list)).toBe("");
    const abi = (name: string) => findInstance(gqa, name).tensors.map((t) => `${t.name}: ${t.dtype}`);
    const base = abi("gqa_paged.f16.g4.p16");
    expect(base).toEqual(["q: f16", "k_cache: f16", "v_cache: f16", "page_table: i32", "cache_seqlens: i32", "cu_seqlens_q: i32", "out: f16", "lse: f32"]);
    expect(abi("gqa_paged_fp8.f16.p16")).toEqual([
      "q: f16", "k_cache: f8e4m3", "v_cache: f8e4m3", "k_descale: f32", "v_descale: f32", ...base.slice(3),
    ]);
  });

  it("a target clause sets a dtype parameter and a tile size computed from the instance's own page size", () => {
    const diags = new Diagnostics();
    const gqa = compileAll(["kernels-src/gqa.ts"], diags, { target: "cuda" });
    expect(formatDiagnostics(diags.list)).toBe("");
    const params = (name: string) => findInstance(gqa, name).params;
    // gqa_decode_fp8's CUDA clause: PV = f16 whatever T, BLOCK_N = (PAGE == 1 ? 64 : 32).
    expect(params("gqa_decode_fp8.bf16.g4.p1")).toMatchObject({ T: "bf16", KV: "f8e4m3", PV: "f16", PAGE: 1, BLOCK_M: 16, BLOCK_N: 64 });
    for (const p of [16, 64]) expect(params(`gqa_decode_fp8.bf16.g4.p${p}`)).toMatchObject({ PV: "f16", PAGE: p, BLOCK_N: 32 });
    // The base and gqa_decode keep PV = T.
    expect(params("gqa_decode.bf16.g4.p1")).toMatchObject({ PV: "bf16", BLOCK_N: 32 });
    expect(params("gqa_paged.bf16.g4.p16")).toMatchObject({ PV: "bf16" });
  });
});

describe("kernel alias and conditional parameter errors", () => {
  const wrap = (body: string) => `import { kernel } from "flashtile";

export const k = kernel\`
kernel base<S: bool = false>
(x: f32[n], s: f32[n] if S, y: f32[n]) grid (i in tiles(n, 4)) {
  let r = cols(i, 4)
  ${body}
}
kernel twin = base<S = true>
\`;
`;

  it("reading an absent parameter outside its condition", () => {
    expectErrors("test/virtual/absent.ts", wrap("store y[r] = load x[r] * load s[r] where r < n"), [
      {
        message: "'s' is not a parameter of this instance: its condition is false here",
        line: 7,
        col: 33,
        at: "s[r]",
        hint: "read it under the same condition: `cond ? use : fallback` lowers only the branch taken",
        notes: [{ message: "the condition", line: 5, col: 26 }],
      },
    ]);
  });

  it("an alias of an unknown kernel, and of a parameter the base lacks", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel base<S: bool = false>
(x: f32[n], y: f32[n]) grid (i in tiles(n, 4)) {
  let r = cols(i, 4)
  store y[r] = load x[r] where r < n
}
kernel a = bsae<S = true>
kernel b = base<Q = 1, S = true, S = false>
\`;
`;
    expectErrors("test/virtual/alias-errors.ts", src, [
      { message: "unknown kernel 'bsae'", line: 9, col: 12, at: "bsae", hint: "an alias reuses a kernel declared above it in the same template (here: 'base')" },
      { message: "'Q' is not a compile-time parameter of kernel 'base'", line: 10, col: 17, at: "Q", hint: "its parameters are S" },
      { message: "'S' is set twice", line: 10, col: 34, at: "S" },
    ]);
  });

  it("a condition that is not a boolean", () => {
    const src = `import { kernel } from "flashtile";

export const k = kernel\`
kernel base<B = 4>
(x: f32[n], s: f32[n] if B + 1, y: f32[n]) grid (i in tiles(n, B)) {
  let r = cols(i, B)
  store y[r] = load x[r] where r < n
}
\`;
`;
    expectErrors("test/virtual/when-kind.ts", src, [{ message: "the condition of parameter 's' must be a boolean, not 5", line: 5, col: 26, at: "B + 1" }]);
  });
});
