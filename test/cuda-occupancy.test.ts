// Blocks per SM for four-warp tensor-core kernels (compiler/backends/cuda/occupancy.ts): the
// build asks for three where three blocks' shared memory fits an SM and keeps three unless ptxas
// spills, then two. Read from the policy, the emitted CUDA C and the shipped package.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileCuda } from "../compiler/backends/cuda/index.ts";
import { blocksPerSmToTry, occupancyLine, withSpilled } from "../compiler/backends/cuda/occupancy.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import type { KernelManifest } from "../runtime/manifest.ts";

describe("blocks per SM: the policy", () => {
  it("tries three then two for 128-thread blocks whose shared memory fits three times", () => {
    expect(blocksPerSmToTry(2, 128, 48 * 1024)).toEqual([3, 2]);
    expect(blocksPerSmToTry(2, 128, 75 * 1024)).toEqual([3, 2]);
    expect(blocksPerSmToTry(2, 128, 76 * 1024)).toEqual([2]);
    expect(blocksPerSmToTry(1, 256, 48 * 1024)).toEqual([1]);
    expect(blocksPerSmToTry(undefined, 32, 8 * 1024)).toEqual([0]);
  });

  it("emits the count it is given in __launch_bounds__ and the line above it", () => {
    const ir = compileAll(["kernels-src/mha.ts"], new Diagnostics(), { target: "cuda" }).find((k) => k.name === "mha_prefill.bf16.hd64.causal")!;
    for (const n of [2, 3]) {
      const k = compileCuda(ir, "k.cu", { blocksPerSm: n });
      expect(k.blocksPerSm).toBe(n);
      expect(k.code).toContain(`${occupancyLine(n)}\nextern "C" __global__ void __launch_bounds__(128, ${n}) `);
    }
    const two = compileCuda(ir, "k.cu", { blocksPerSm: 2 }).code;
    const noted = withSpilled(two, 2, [3]);
    expect(noted).toContain("// 2 block(s) per SM asked of ptxas (occupancy.ts); 3 spilled.\nextern");
    // The note replaces a line: line numbers (and so the PTX) stay those of the built source.
    expect(noted.split("\n").length).toBe(two.split("\n").length);
  });
});

describe("blocks per SM: the package", () => {
  const manifest = JSON.parse(fs.readFileSync("generated/manifest.json", "utf8")) as { kernels: Record<string, KernelManifest[]> };
  const builds = Object.values(manifest.kernels).flat().filter((m) => m.cuda);
  const source = (m: KernelManifest) => fs.readFileSync(path.join("generated/cuda", m.cuda!.file), "utf8");

  it("every four-warp tensor-core build asks for three blocks, or says that three spilled", () => {
    const counts = { three: 0, fallback: 0 };
    for (const m of builds) {
      const code = source(m);
      const bounds = /__launch_bounds__\(128, (\d)\)/.exec(code);
      if (!bounds) continue;
      const tries = blocksPerSmToTry(2, 128, m.cuda!.sharedBytes);
      if (bounds[1] === "3") counts.three++;
      else {
        expect(bounds[1], m.name).toBe("2");
        if (tries.length > 1) {
          // (Some also fell back to a build without lazy-sums, or without it and fold-scale,
          // at two blocks, and say that too.)
          expect(code, m.name).toMatch(/3 spilled(\.|; 2 spilled with lazy-sums( and fold-scale)?, left out here\.)\n/);
          counts.fallback++;
        }
      }
    }
    // The hd64 prefill builds fit three blocks (the reason for the policy); the hd128 ones are
    // warp-specialized (warp-specialize.ts), one block of three warpgroups an SM.
    expect(counts.three).toBeGreaterThanOrEqual(8);
    for (const name of ["mha_prefill.bf16.hd64.causal", "mha_prefill.bf16.hd64.nocausal"]) {
      expect(source(builds.find((m) => m.name === name)!), name).toContain("__launch_bounds__(128, 3)");
    }
    expect(source(builds.find((m) => m.name === "mha_prefill.bf16.hd128.causal")!)).toContain("__launch_bounds__(384, 1)");
  });

  it("a page-1 build left without its unrolled gathers says so, and the rest keep them at three blocks", () => {
    const unrolledGather = /for \(int i = 0; i < \d+; \+\+i\) \{\n\s+const int r = tid \/ \d+ \+ i \* \d+, c = [^\n]*\n[^\n]*\n\s+(cp_async16\(|fp8x16_store)[^\n]*(k|v)_cache \+ \(ok \? [^\n]*page_table\[/;
    const counts = { unrolled: 0, left: 0 };
    for (const m of builds) {
      const code = source(m);
      if (!code.includes("__launch_bounds__(128, ") || !/\.p1(\.|$)/.test(m.cuda!.file.replace(/\.cu$/, ""))) continue;
      if (code.includes("with the unrolled one-row page gathers")) {
        expect(code, m.name).not.toMatch(unrolledGather);
        counts.left++;
      } else if (unrolledGather.test(code)) counts.unrolled++;
    }
    // gqa_paged and its fp8 and sinks twins keep them (1.15-1.17x on an H200 for gqa_paged:
    // docs/performance.md); the window and softcap builds spilled with them at three blocks.
    expect(counts.unrolled).toBeGreaterThanOrEqual(12);
    expect(counts.left).toBeGreaterThanOrEqual(1);
    // (Its Hopper build is warp-specialized, its producer gathering: its sm_80 build's blocks.)
    expect(source(builds.find((m) => m.name === "gqa_paged.bf16.g4.p1" && m.cuda!.file.endsWith(".sm_80.cu"))!)).toMatch(unrolledGather);
  });
});
