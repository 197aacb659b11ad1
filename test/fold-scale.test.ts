// The row max before a positive scale (passes/fold-scale.ts) and the `require` bounds on scalar
// arguments it relies on (check/scalar-bounds.ts): where the rewrite applies and where it must
// not, that it leaves every output bit-identical (interpreted, fresh random inputs), what the
// runtime says to a launch that breaks a bound, the diagnostics of bounds it cannot check, and
// the one FFMA the CUDA backend writes for the exponent's argument.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { baseManifest } from "../compiler/backends/wgsl/index.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { IRBuilder } from "../compiler/ir/builder.ts";
import { type ForInst, type KernelIR, type Value, walkInsts } from "../compiler/ir/ir.ts";
import { compileIR, findInstance, interpretCase } from "../compiler/interp/index.ts";
import { provablyPositive } from "../compiler/passes/fold-scale.ts";
import { bindTensorArgs } from "../runtime/args.ts";
import { cudaKernel, mhaOneWarpgroup } from "./harness/cuda-source.ts";
import { expectErrors } from "./harness/diagnostics.ts";
import { mhaPrefillCase } from "./harness/mha.ts";
import { freshSeed, makeRng, relError } from "./reference/numeric.ts";

const MHA = path.resolve("kernels-src/mha.ts");
const REQUIRE = /\n\s*require softmax_scale > 0\.0 "[^"]*"/;

/** mha.ts as shipped, or (bounded = false) without its bound on softmax_scale. */
function mhaIR(name: string, bounded: boolean): KernelIR {
  const text = fs.readFileSync(MHA, "utf8");
  expect(text).toMatch(REQUIRE);
  const diags = new Diagnostics();
  const irs = compileIR([MHA], diags, { sources: { [MHA]: bounded ? text : text.replace(REQUIRE, "") } });
  expect(formatDiagnostics(diags.list)).toBe("");
  return findInstance(irs, name);
}

/** What each row max reads, by the status of the loop it sits in ("full", "partial", "any"). */
function rowMaxOperands(ir: KernelIR): { status: string; reads: string }[] {
  const out: { status: string; reads: string }[] = [];
  walkInsts(ir.body, (inst) => {
    if (inst.kind !== "for") return;
    for (const i of inst.body.insts) {
      if (i.kind !== "def" || i.value.op.kind !== "reduce" || i.value.op.op !== "max") continue;
      const a = i.value.op.a;
      out.push({ status: (inst as ForInst).status, reads: a.op.kind === "binary" ? `${a.op.kind} ${a.op.op}` : a.op.kind });
    }
  });
  return out;
}

describe("fold-scale: the row max of the unscaled scores", () => {
  it("full tiles take the max of the dot itself when softmax_scale is bounded, and keep the spec's order when not", () => {
    const folded = rowMaxOperands(mhaIR("mha_prefill.f32.hd64.causal", true));
    const plain = rowMaxOperands(mhaIR("mha_prefill.f32.hd64.causal", false));
    // One full segment and the masked (partial) ones around it, in both.
    expect(folded.map((r) => r.status)).toEqual(plain.map((r) => r.status));
    expect(folded.filter((r) => r.status === "full")).toEqual([{ status: "full", reads: "dot" }]);
    expect(plain.filter((r) => r.status === "full")).toEqual([{ status: "full", reads: "binary mul" }]);
    // Masked tiles read select(live, s * scale, -inf) either way: both readers still need it.
    for (const r of [...folded, ...plain].filter((x) => x.status !== "full")) expect(r.reads).toBe("select");
  });

  it("leaves every output bit-identical (interpreted, fresh random inputs)", () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const name of ["mha_prefill.f32.hd64.causal", "mha_prefill.f16.hd64.nocausal"]) {
      const [a, b] = [mhaIR(name, true), mhaIR(name, false)];
      const c = mhaPrefillCase(a.params, { qLens: [1, 70, 129], kLens: [5, 70, 200], heads: 2 }, rng);
      const [x, y] = [interpretCase(a, c), interpretCase(b, c)];
      for (const o of ["out", "lse"]) {
        expect(Array.from(x[o]), `${name} ${o} (seed ${seed})`).toEqual(Array.from(y[o]));
        expect(relError(x[o], c.expected[o]), `${name} ${o} (seed ${seed})`).toBeLessThan(c.tolerance[o]);
      }
    }
  });

  it("proves a scale positive from constants, bounds, products, sums and selects only", () => {
    const b = new IRBuilder();
    const ir = {
      scalars: [
        { name: "s_gt0", dtype: "f32", bounds: [{ op: ">", value: 0 }] },
        { name: "s_ge0", dtype: "f32", bounds: [{ op: ">=", value: 0 }] },
        { name: "s_ge1", dtype: "f32", bounds: [{ op: ">=", value: 1 }] },
        { name: "s_lt0", dtype: "f32", bounds: [{ op: "<", value: 0 }] },
        { name: "free", dtype: "f32" },
      ],
    } as unknown as KernelIR;
    const arg = (n: string) => b.arg(n, "f32");
    const c = (x: number) => b.const(x, "f32");
    const cases: [string, Value, boolean][] = [
      ["0.5", c(0.5), true],
      ["0", c(0), false],
      ["-1", c(-1), false],
      ["inf", c(Infinity), false],
      ["s > 0", arg("s_gt0"), true],
      ["s >= 0 (may be 0)", arg("s_ge0"), false],
      ["s >= 1", arg("s_ge1"), true],
      ["s < 0", arg("s_lt0"), false],
      ["unbounded", arg("free"), false],
      ["s * log2(e)", b.binary("mul", arg("s_gt0"), c(1.4426950408889634)), true],
      ["s * unbounded", b.binary("mul", arg("s_gt0"), arg("free")), false],
      ["s / 2 + 1", b.binary("add", b.binary("div", arg("s_gt0"), c(2)), c(1)), true],
      ["s - 1", b.binary("sub", arg("s_gt0"), c(1)), false],
      ["max(s, unbounded)", b.binary("max", arg("s_gt0"), arg("free")), true],
      ["min(s, unbounded)", b.binary("min", arg("s_gt0"), arg("free")), false],
      ["select(p, s, 2)", b.select(b.const(true, "bool"), arg("s_gt0"), c(2)), true],
      ["exp2(unbounded)", b.unary("exp2", arg("free")), false],
    ];
    for (const [what, v, expected] of cases) expect(provablyPositive(ir, v), what).toBe(expected);
  });
});

describe("require bounds on scalar arguments", () => {
  const good = () => ({ x: { shape: [4] }, y: { shape: [4] }, scale: 0.5 });
  const sig = {
    name: "k",
    tensors: [
      { name: "x", dtype: "f32", shape: ["n"], access: "read" as const },
      { name: "y", dtype: "f32", shape: ["n"], access: "read_write" as const },
    ],
    scalars: [{ name: "scale", dtype: "f32", bounds: [{ op: ">" as const, value: 0, message: "scale must be positive" }, { op: "<=" as const, value: 8 }] }],
    dims: ["n"],
  };
  const rules = { form: "{ shape }", accepts: () => true, checkMemory: () => {}, conflict: () => undefined };

  it("the runtime refuses a launch that breaks one, with the spec's message", () => {
    expect(bindTensorArgs(sig, good(), rules).scalars).toEqual({ scale: 0.5 });
    expect(() => bindTensorArgs(sig, { ...good(), scale: -0.125 }, rules)).toThrow(
      "k: scalar argument 'scale' must be > 0, got -0.125 (scale must be positive)",
    );
    expect(() => bindTensorArgs(sig, { ...good(), scale: 0 }, rules)).toThrow("k: scalar argument 'scale' must be > 0, got 0 (scale must be positive)");
    expect(() => bindTensorArgs(sig, { ...good(), scale: 9 }, rules)).toThrow("k: scalar argument 'scale' must be <= 8, got 9");
  });

  it("every attention kernel bounds softmax_scale in its manifest, and a launch with a negative one is refused", () => {
    const ir = mhaIR("mha_prefill.f32.hd64.nocausal", true);
    const message = "softmax_scale must be positive (the kernel takes the row max of the unscaled scores)";
    expect(baseManifest(ir).scalars.find((s) => s.name === "softmax_scale")).toEqual({ name: "softmax_scale", dtype: "f32", perStep: false, bounds: [{ op: ">", value: 0, message }] });
    const c = mhaPrefillCase(ir.params, { qLens: [3], heads: 1 }, makeRng(freshSeed()));
    c.inputs.softmax_scale = -0.1;
    expect(() => interpretCase(ir, c)).toThrow(`mha_prefill.f32.hd64.nocausal: scalar argument 'softmax_scale' must be > 0, got -0.1 (${message})`);
    const diags = new Diagnostics();
    for (const k of compileIR(["kernels-src"], diags)) {
      const scale = k.scalars.find((s) => s.name === "softmax_scale");
      if (scale) expect(scale.bounds, k.name).toEqual([{ op: ">", value: 0, message }]);
    }
  });

  const spec = (require: string) => `import { kernel } from "flashtile";

export const k = kernel\`
kernel rb<B = 2>
  ${require}
(x: f32[n], y: f32[n], scale: f32, eps: f32) grid (i in tiles(n, 16)) {
  let r = cols(i, 16)
  store y[r] = load x[r] * scale + eps where r < n
}
\`;
`;

  it("turns a comparison with a compile-time value into bounds, flipped to put the argument first", () => {
    const diags = new Diagnostics();
    const file = path.resolve("test/virtual/bounds.ts");
    const [ir] = compileIR([file], diags, { sources: { [file]: spec(`require 0.0 < scale && scale <= B * 4 && eps >= -1 "in range"`) } });
    expect(formatDiagnostics(diags.list)).toBe("");
    expect(ir.scalars.map((s) => [s.name, s.bounds])).toEqual([
      ["scale", [{ op: ">", value: 0, message: "in range" }, { op: "<=", value: 8, message: "in range" }]],
      ["eps", [{ op: ">=", value: -1, message: "in range" }]],
    ]);
  });

  it("a bound the runtime could not check in one comparison is an error", () => {
    const hint = "write it as `softmax_scale > 0.0` (one argument, <, <=, > or >=, joined by &&): the runtime checks it at each launch";
    const message = "a requirement on a scalar argument must compare it with a compile-time value";
    expectErrors("test/virtual/bound-expr.ts", spec("require scale * 2.0 > 0.0"), [{ message, line: 5, col: 11, at: "scale * 2.0 > 0.0", hint }]);
    expectErrors("test/virtual/bound-two.ts", spec("require B > 0 && scale > eps"), [{ message, line: 5, col: 20, at: "scale > eps", hint }]);
    // The parts that name no argument are checked at compile time, as any requirement.
    expectErrors("test/virtual/bound-ct.ts", spec(`require B > 2 && scale > 0.0 "B above 2"`), [{ message: "B above 2 (B = 2)", line: 5, col: 11, at: "B > 2" }]);
    expectErrors("test/virtual/bound-or.ts", spec("require scale > 0.0 || eps > 0.0"), [{ message, line: 5, col: 11, at: "scale > 0.0 || eps > 0.0", hint }]);
  });
});

describe("the exponent's argument in CUDA C", () => {
  it("is one fmaf of the accumulator, the scale and the row max where the scale is bounded", () => {
    // One warpgroup a block, 64-key tiles (the shipped Hopper build, warp-specialized, is checked below).
    const one = mhaOneWarpgroup();
    const code = cudaKernel([one.file], "mha_prefill.bf16.hd128.nocausal", {}, one.sources).code;
    expect(code).toMatch(/exp2_ftz\(fmaf\(t_\d+\[\(\(mt \* 8 \+ nt\) \* 2 \+ h\) \* 2 \+ p\], scale2_\d+, -m_safe_\d+\[mt \* 2 \+ h\]\)\)/);
    // The full tiles' row max reads the wgmma accumulator, then scales the row's max once.
    expect(code).toMatch(/part\[\(nt \* 2 \+ p\) % 4\] = nt \* 2 \+ p < 4 \? t_(\d+)\[\(\(mt \* 8 \+ nt\) \* 2 \+ h\) \* 2 \+ p\] : fmaxf\(part\[\(nt \* 2 \+ p\) % 4\], t_\1\[/);
    expect(code).toMatch(/m_new_\d+\[mt \* 2 \+ h\] = fmaxf\(carry_\d+\[mt \* 2 \+ h\], \(t_\d+\[mt \* 2 \+ h\] \* scale2_\d+\)\);/);
  });

  it("a build that spills with it ships without it, saying so (the 128-row sm_80 prefill builds at hd128)", () => {
    for (const c of ["causal", "nocausal"]) {
      const own = fs.readFileSync(`generated/cuda/mha_prefill.bf16.hd128.${c}.sm_80.cu`, "utf8");
      expect(own).toContain("// 2 block(s) per SM asked of ptxas (occupancy.ts); 3 spilled; 2 spilled with lazy-sums and fold-scale, left out here.");
      expect(own).not.toMatch(/exp2_ftz\(fmaf\(/);
      expect(own).toMatch(/exp2_ftz\(\(S_\d+\[/);
      // The Hopper build of the same instance keeps it.
      expect(fs.readFileSync(`generated/cuda/mha_prefill.bf16.hd128.${c}.cu`, "utf8")).toMatch(/exp2_ftz\(fmaf\(/);
    }
  });

  it("keeps the scaled tile where the scale is read from memory (an FP8 key descale)", () => {
    const code = cudaKernel([path.resolve("kernels-src/gqa.ts")], "gqa_paged_fp8.bf16.g4.p16").code;
    expect(code).not.toMatch(/exp2_ftz\(fmaf\(/);
    expect(code).toMatch(/exp2_ftz\(\(t_\d+\[\(\(mt \* 8 \+ nt\) \* 2 \+ h\) \* 2 \+ p\] - m_safe_\d+\[mt \* 2 \+ h\]\)\)/);
  });
});
