// MLA over an FP8 (E4M3) latent cache on CUDA: the latent tile is staged as E4M3 and widened in
// shared memory by every thread of the block, between two block barriers. The leader schedule
// (group 0 alone runs the scores, the groups run different code) cannot hold such a pass: a
// build that took it (2026-11-30) widened with half the threads and met six block barriers a
// tile in group 0 against four in the other, and hung on the H200
// (bench/results/h200-cuda-suite-mla-fp8-leader-hang-2026-11-30.log). plan.ts gives these
// kernels the mma.sync plan instead, on sm_90a too.
import { describe, expect, it } from "vitest";
import { cudaKernel } from "./harness/cuda-source.ts";

const cudaOf = (file: string, name: string) => cudaKernel([file], name, { wgmma: true });

describe("MLA over an fp8 latent cache on CUDA", () => {
  for (const [file, name] of [
    ["kernels-src/mla.ts", "mla_paged_fp8.bf16.p64"],
    ["kernels-src/decode_split.ts", "mla_decode_split_fp8.bf16.p16"],
  ]) {
    const k = cudaOf(file, name);
    const body = k.code.slice(k.code.indexOf("extern \"C\" __global__"));

    it(`${name}: no leader schedule, no wgmma: every block barrier is met by all 8 warps`, () => {
      expect(k.target.blockDim).toEqual([256, 1, 1]);
      expect(body).not.toContain("the leader: the narrow tiles");
      expect(body).not.toContain("published_arrive");
      expect(body).not.toContain("wgmma_fence");
      // Every branch on the column group is the epilogue's row write, with no barrier inside.
      expect(body.match(/if \(wcol == 0[^\n]*\{/g)?.length ?? 0).toBeLessThanOrEqual(1);
    });

    it(`${name}: the latent and rope tiles widened in shared memory by all 256 threads`, () => {
      const passes = body.match(/\/\/ \w+: \d+ x \d+ fp8 widened to bf16, shared to shared[^\n]*\n\s*#pragma unroll\n\s*for \(int e = tid; e < \d+; e \+= (\d+)\)/g) ?? [];
      expect(passes.length).toBeGreaterThanOrEqual(2);
      for (const p of passes) expect(p).toMatch(/e \+= 256\)$/);
      // The widened tile is read by the dots from shared memory, not copied into registers too.
      expect(body).not.toMatch(/float t_\d+\[128\];/);
    });

    it(`${name}: applies the descales (the key one to the scores, the value one to the output)`, () => {
      expect(body).toContain("k_descale[");
      expect(body).toContain("v_descale[");
    });
  }
});
