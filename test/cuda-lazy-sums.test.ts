// Row reductions in the CUDA C (lazy-sums.ts, tile-emit.ts): the softmax's row sum carried as
// each lane's part through the loops and added across the row's lanes once after the last; the
// row max in four independent chains. Read from the emitted code, and the lane arithmetic checked
// by running it in JavaScript for a quad of lanes.
import { describe, expect, it } from "vitest";
import { cudaKernel, mhaOneWarpgroup } from "./harness/cuda-source.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { lazySums } from "../compiler/backends/cuda/lazy-sums.ts";
import { planCuda } from "../compiler/backends/cuda/plan.ts";
import fs from "node:fs";

const MHA = "kernels-src/mha.ts";
// mha_prefill with one warpgroup a block (the plain and overlapped loops at head dim 128; its
// shipped Hopper builds are warp-specialized).
const ONE = mhaOneWarpgroup();
const code = (file: string, name: string) => (file === MHA ? cudaKernel([ONE.file], name, { wgmma: true }, ONE.sources) : cudaKernel([file], name, { wgmma: true })).code;
const COMBINE = /\/\/ (carry_\d+): the parts of the row's lanes added \(lazy-sums\.ts\)/g;

describe("the row sum carried as each lane's part", () => {
  const src = code(MHA, "mha_prefill.bf16.hd128.causal");

  it("sums each tile's row without shuffles, and adds the lanes once, after the last of the three loops", () => {
    const lanesOnly = src.split("// this lane's columns only: the row's lanes are added after the loop (lazy-sums.ts)").length - 1;
    // The masked loops before and after, the whole tiles' plain loop (sm_80) and the overlapped one (sm_90a).
    expect(lanesOnly).toBeGreaterThanOrEqual(4);
    const combines = [...src.matchAll(COMBINE)];
    expect(combines.length).toBe(1);
    const at = combines[0].index!;
    // After every loop (the last masked loop is the last `for (int t_`), before the output's division.
    expect(src.lastIndexOf("for (int t_", at)).toBeGreaterThan(0);
    expect(src.indexOf("for (int t_", at)).toBe(-1);
    const name = combines[0][1];
    const after = src.slice(at);
    expect(after).toContain(`float acc = ${name}[mt * 2 + h];\n`);
    expect(after).toMatch(/acc = acc \+ __shfl_xor_sync\(0xffffffffu, acc, 1\);\n\s*acc = acc \+ __shfl_xor_sync\(0xffffffffu, acc, 2\);\n\s*carry_\d+\[mt \* 2 \+ h\] = acc;/);
    // The row's max still meets across the lanes every tile: the exponent needs it at once.
    expect(src.match(/fmaxf\(acc, __shfl_xor_sync\(0xffffffffu, acc, 1\)\)/g)!.length).toBeGreaterThanOrEqual(4);
  });

  it("adds up to the row's sum: four lanes' parts, rescaled each tile by the row's alpha, then combined", () => {
    // l_lane <- l_lane * alpha + part_lane, as the loop does, for random tiles; then the xor-1 and xor-2 adds.
    const rnd = (() => {
      let s = 12345;
      return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    })();
    let l = 0;
    const lanes = [0, 0, 0, 0];
    for (let tile = 0; tile < 20; tile++) {
      const alpha = 0.5 + rnd();
      const cols = Array.from({ length: 64 }, () => rnd());
      l = l * alpha + cols.reduce((a, b) => a + b, 0);
      for (let t4 = 0; t4 < 4; t4++) {
        // Lane t4 holds columns 2 t4, 2 t4 + 1 of each n8 tile.
        const mine = cols.filter((_, c) => Math.floor((c % 8) / 2) === t4);
        lanes[t4] = lanes[t4] * alpha + mine.reduce((a, b) => a + b, 0);
      }
    }
    const x1 = lanes.map((v, i) => v + lanes[i ^ 1]);
    const x2 = x1.map((v, i) => v + x1[i ^ 2]);
    for (const v of x2) expect(v).toBeCloseTo(l, 9);
  });

  it("applies where the sum starts at zero and nothing but its update reads it; not to the leader schedule's loops", () => {
    for (const [file, name] of [[MHA, "mha_prefill.bf16.hd64.nocausal"], ["kernels-src/decode_split.ts", "gqa_decode_split.bf16.g4.p16"], ["kernels-src/gqa.ts", "gqa_paged.bf16.g4.p1"]] as const) {
      expect([...code(file, name).matchAll(COMBINE)].length, name).toBe(1);
    }
    // MLA on Hopper: group 0 computes the softmax and publishes its rows to the other group.
    // Its sums stay whole; its maxes take one chain where the loop keeps a block barrier a tile
    // (page 16), four where named barriers order the groups (page 64's whole tiles).
    const mla = code("kernels-src/mla.ts", "mla_paged.bf16.p16");
    expect(mla).not.toContain("lazy-sums.ts");
    expect(mla).not.toContain("part[");
    const p64 = code("kernels-src/mla.ts", "mla_paged.bf16.p64");
    expect(p64).not.toContain("lazy-sums.ts");
    expect(p64.match(/float part\[4\];/g)?.length).toBe(1);
    // merge_states reads its carried sums otherwise (no softmax loop): nothing to carry.
    const diags = new Diagnostics();
    const ir = compileAll(["kernels-src/merge_states.ts"], diags, { target: "cuda" })[0];
    const plan = planCuda(ir, { maxWarps: 4, wgmma: true });
    expect(lazySums(ir.body, plan.uses, () => false).reduces.size).toBe(0);
  });
});

describe("the row max in four chains", () => {
  it("keeps four partial maxes a row, each started from its first element, combined pairwise", () => {
    const src = code(MHA, "mha_prefill.bf16.hd128.nocausal");
    expect(src).toContain("float part[4];");
    expect(src).toMatch(/part\[\(nt \* 2 \+ p\) % 4\] = nt \* 2 \+ p < 4 \? (\w+)\[\(\(mt \* 8 \+ nt\) \* 2 \+ h\) \* 2 \+ p\] : fmaxf\(part\[\(nt \* 2 \+ p\) % 4\], \1\[/);
    expect(src).toContain("part[0] = fmaxf(part[0], part[2]);\n");
    expect(src).toMatch(/part\[1\] = fmaxf\(part\[1\], part\[3\]\);\n\s*part\[0\] = fmaxf\(part\[0\], part\[1\]\);\n\s*float acc = part\[0\];/);
    // The sums keep one chain (registers: see PARTIALS).
    expect(src).not.toMatch(/part\[[^\]]+\] = [^;]*part\[[^\]]+\] \+ /);
  });

  it("a build that spills with the lane sums ships without them, saying so (gqa_paged's sm_80 builds at pages 16 and 64)", () => {
    // (softcap's p1 paged builds did too while their tanh was libm's tanhf; swa_paged's p1 builds
    // before their Hopper builds were warp-specialized.)
    for (const name of ["gqa_paged.bf16.g4.p16.sm_80", "gqa_paged.f16.g8.p64.sm_80"]) {
      const shipped = fs.readFileSync(`generated/cuda/${name}.cu`, "utf8");
      expect(shipped, name).toContain("// 3 block(s) per SM asked of ptxas (occupancy.ts); 3 spilled with lazy-sums, left out here.");
      expect(shipped, name).not.toContain("lazy-sums.ts)");
    }
  });
});
