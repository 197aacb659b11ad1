// `target cuda sm_80: ...`: parameters for one architecture's build of a kernel. The clause's
// errors, the instances it makes (the target's, with its parameters over the target's), and the
// package it gives: the sm_80 build ships that architecture's PTX alone and the main build the rest.
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileCudaKernels } from "../compiler/generate.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { compileUnits, frontend } from "../compiler/pipeline.ts";
import { chooseCudaBuild } from "../runtime/backends/cuda/index.ts";
import { expectErrors } from "./harness/diagnostics.ts";

const spec = (clauses: string) => `import { kernel } from "flashtile";

export const k = kernel\`
kernel tiled<T: dtype = f32, BLOCK_M = 16, BLOCK_N = 32>
${clauses}
(x: T[n, 64], y: T[m, 64], out: f32[n, m]) grid (i in tiles(n, BLOCK_M), j in tiles(m, BLOCK_N)) {
  let r = rows(i, BLOCK_M)
  let c = rows(j, BLOCK_N)
  let X = load x[r, :] where r < n
  let Y = load y[c, :] where c < m
  store out[r, cols(j, BLOCK_N)] = dot(X, Y^T) where r < n && cols(j, BLOCK_N) < m
}
\`;
`;

describe("target <backend> <arch>: errors", () => {
  it("an architecture the backend does not build for", () => {
    expectErrors("test/virtual/arch-unknown.ts", spec("  target cuda: T in [bf16]\n  target cuda sm_75: BLOCK_M = 32"), [
      { message: "unknown architecture 'sm_75' for target 'cuda'", line: 6, col: 15, at: "sm_75", hint: "cuda builds for sm_80 and sm_90a" },
    ]);
  });

  it("a backend without architectures", () => {
    expectErrors("test/virtual/arch-wgsl.ts", spec("  target wgsl sm_80: BLOCK_M = 32"), [
      { message: "unknown architecture 'sm_80' for target 'wgsl'", line: 5, col: 15, at: "sm_80", hint: "'wgsl' has no architectures: write `target wgsl:`" },
    ]);
  });

  it("an instance list in an architecture's clause", () => {
    expectErrors("test/virtual/arch-in.ts", spec("  target cuda: T in [bf16]\n  target cuda sm_80: T in [f16], BLOCK_M = 32"), [
      {
        message: "an architecture's clause sets parameters, it cannot list instances ('T in [...]')",
        line: 6,
        col: 22,
        at: "T in",
        hint: "list instances in `target cuda:` and give sm_80 a value with `T = ...`",
      },
    ]);
  });

  it("a value that breaks a require clause is reported for that architecture's build", async () => {
    const path = "test/virtual/arch-require.ts";
    const src = spec('  require BLOCK_M % 16 == 0 "BLOCK_M must be a multiple of 16"\n  target cuda: T in [bf16], BLOCK_M = 64\n  target cuda sm_80: BLOCK_M = 40');
    const diags = new Diagnostics();
    await compileCudaKernels([path], diags, { sources: new Map([[`${process.cwd()}/${path}`, src]]) });
    const text = formatDiagnostics(diags.list);
    expect(text).toContain(`${path}:5:11: error: BLOCK_M must be a multiple of 16 (BLOCK_M = 40)`);
    expect(text.match(/error:/g)).toHaveLength(1);
  });
});

describe("target <backend> <arch>: instances and builds", () => {
  const path = "test/virtual/arch.ts";
  const src = spec("  target cuda: T in [bf16, f16], BLOCK_M = 64, BLOCK_N = 64\n  target cuda sm_80: BLOCK_M = (T == bf16 ? 128 : 64)");
  const sources = new Map([[`${process.cwd()}/${path}`, src]]);

  it("the architecture's instances are the target's, with its parameters over the target's", () => {
    const diags = new Diagnostics();
    const { units } = frontend([`${process.cwd()}/${path}`], diags, process.cwd(), sources);
    const params = (arch?: string) => compileUnits(units, diags, { target: "cuda", arch }).map((ir) => [ir.name, ir.params.BLOCK_M, ir.params.BLOCK_N]);
    expect(params()).toEqual([
      ["tiled.bf16", 64, 64],
      ["tiled.f16", 64, 64],
    ]);
    expect(params("sm_80")).toEqual([
      ["tiled.bf16", 128, 64],
      ["tiled.f16", 64, 64],
    ]);
    // No clause for this architecture: no builds of its own.
    expect(params("sm_90a")).toEqual([]);
    // The WGSL instances know nothing of it.
    expect(compileAll([path], diags, { sources }).map((ir) => [ir.name, ir.params.BLOCK_M])).toEqual([["tiled", 16]]);
    expect(diags.list).toEqual([]);
  });

  it("the sm_80 build ships sm_80 PTX alone and the main build the rest; the runtime picks per device", { timeout: 300_000 }, async () => {
    const diags = new Diagnostics();
    const cuda = await compileCudaKernels([path], diags, { sources });
    expect(formatDiagnostics(diags.list)).toBe("");
    const builds = cuda.map((k) => [k.name, k.manifest.cuda!.file, k.manifest.params.BLOCK_M, Object.keys(k.manifest.cuda!.ptx), k.manifest.grid[0]]);
    // tiled.f16's sm_80 clause gives the parameters it has anyway: one build for both.
    expect(builds).toEqual([
      ["tiled.bf16", "tiled.bf16.cu", 64, ["sm_90a"], { op: "ceil_div", args: ["n", 64] }],
      ["tiled.f16", "tiled.f16.cu", 64, ["sm_80", "sm_90a"], { op: "ceil_div", args: ["n", 64] }],
      ["tiled.bf16", "tiled.bf16.sm_80.cu", 128, ["sm_80"], { op: "ceil_div", args: ["n", 128] }],
    ]);
    const [main, , own] = cuda;
    expect(own.code).toContain("// The sm_80 build: these parameters come from the spec's `target cuda sm_80:` clause");
    expect(own.code).not.toContain("wgmma");
    expect(main.code).toContain("wgmma");
    expect(Object.keys(own.ptx)).toEqual(["sm_80"]);
    // Hopper loads the main build's wgmma PTX; Ampere and anything newer than Hopper the sm_80 build.
    const cc = (major: number, minor: number) => ({ computeCapabilityMajor: major, computeCapabilityMinor: minor });
    const pick = (major: number, minor: number) => {
      const { manifest, arch } = chooseCudaBuild([main.manifest, own.manifest], cc(major, minor));
      return [manifest.cuda!.file, arch];
    };
    expect(pick(9, 0)).toEqual(["tiled.bf16.cu", "sm_90a"]);
    expect(pick(8, 0)).toEqual(["tiled.bf16.sm_80.cu", "sm_80"]);
    expect(pick(8, 9)).toEqual(["tiled.bf16.sm_80.cu", "sm_80"]);
    expect(pick(10, 0)).toEqual(["tiled.bf16.sm_80.cu", "sm_80"]);
    expect(() => chooseCudaBuild([main.manifest], cc(8, 0))).toThrow("tiled.bf16: no PTX for this device (sm_80): the kernel was built for sm_90a");
    expect(() => chooseCudaBuild([own.manifest, own.manifest], cc(8, 0))).toThrow("tiled.bf16: two CUDA builds ship PTX for sm_80");
  });
});
