// MLA over an FP8 (E4M3) latent cache on CUDA. On Hopper it takes the leader schedule, as over a
// 16-bit cache: the copying group stages each next tile's E4M3 bytes by cp.async in the upper
// half of its 16-bit buffer, and both groups widen them there, in place, each while its P·V
// slice runs (plan.ts, `converted`; copy-emit.ts; leader-emit.ts). A widening pass in shared memory by every thread, between block barriers of its
// own, cannot sit in that loop: a build that put one there (2026-11-30) widened with half the
// threads, met six block barriers a tile in group 0 against four in the other, and hung on the
// H200 (bench/results/h200-cuda-suite-mla-fp8-leader-hang-2026-11-30.log). On Ampere (the sm_80
// builds: 32-key tiles) the tiles are staged as E4M3 and widened in shared memory by all threads.
import { describe, expect, it } from "vitest";
import { compileCuda } from "../compiler/backends/cuda/index.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { cudaKernel } from "./harness/cuda-source.ts";

const bodyOf = (code: string) => code.slice(code.indexOf('extern "C" __global__'));
const sm80Of = (file: string, name: string) => {
  const ir = compileAll([file], new Diagnostics(), { target: "cuda", arch: "sm_80" }).find((k) => k.name === name)!;
  return compileCuda(ir, `${name}.sm_80.cu`, { arch: "sm_80" });
};

describe("MLA over an fp8 latent cache on CUDA", () => {
  for (const [file, name] of [
    ["kernels-src/mla.ts", "mla_paged_fp8.bf16.p64"],
    ["kernels-src/decode_split.ts", "mla_decode_split_fp8.bf16.p16"],
  ]) {
    const hopper = cudaKernel([file], name, { wgmma: true });
    const body = bodyOf(hopper.code);

    it(`${name}, Hopper: the leader schedule over 64-key tiles, its dots as wgmma`, () => {
      expect(hopper.target.blockDim).toEqual([256, 1, 1]);
      expect(hopper.code).toContain("BLOCK_N = 64.");
      expect(body).toContain("the leader: the narrow tiles");
      expect(body).toContain("published_arrive();");
      expect(body).toMatch(/wgmma m64n64k16, B K-major from the swizzled tile/);
      // No widening pass of the whole block between block barriers (the Ampere builds' form).
      expect(body).not.toContain("shared to shared");
    });

    it(`${name}, Hopper: the other group stages the next tiles by cp.async; both groups widen them beside their P·V`, () => {
      const from = body.indexOf("} else { // the other groups");
      const leader = body.slice(body.indexOf("if (wcol == 0) { // the leader"), from);
      const others = body.slice(from);
      const copies = others.match(/\/\/ \w+: (\d+) x (\d+) into shared memory, its E4M3 bytes staged by 16-byte cp\.async[^\n]*this thread's (\d+) rows/g) ?? [];
      // The latent tile (64 x 512: 16 rows for each of the group's 128 threads) and the rope tile (64 x 64: 2 rows).
      expect(copies.some((c) => c.includes("64 x 512") && c.endsWith("16 rows"))).toBe(true);
      expect(copies.some((c) => c.includes("64 x 64") && c.endsWith("2 rows"))).toBe(true);
      expect(others).toMatch(/cp_async16\(smem \+ [^\n]*c_kv/);
      // The leader copies nothing in its loop.
      expect(leader.slice(leader.indexOf("for ("))).not.toContain("cp_async16(");
      // Per tile, in each group: its P·V slice committed, the next tiles widened, then its P·V waited for.
      for (const [who, code, start] of [["leader", leader, "published_arrive();"], ["others", others, "published_wait();"]]) {
        const tile = code.slice(code.indexOf(start));
        const commit = tile.indexOf("wgmma_commit(); // waited for after this group's share of the widening");
        const widen = tile.indexOf("its staged E4M3 bytes widened to f16 in place");
        const wait = tile.indexOf("this tile's P·V slice, which ran beside the widening");
        expect(commit, who).toBeGreaterThan(0);
        expect(widen, who).toBeGreaterThan(commit);
        expect(wait, who).toBeGreaterThan(widen);
      }
      // Both groups run the same widening (each thread its share, by tid over all 256), the
      // others after waiting for their own copies; the team barrier counts every thread.
      const pass = (code: string) => code.slice(code.indexOf("copy_team_sync(); // every copy landed"), code.indexOf("wgmma_wait<0>(); //"));
      expect(pass(leader).length).toBeGreaterThan(0);
      expect(pass(leader)).toBe(pass(others));
      expect(others).toContain("cp_async_wait<0>(); // this thread's copies of them\n");
      expect(hopper.code).toContain('asm volatile("bar.sync 4, 256;');
    });

    it(`${name}, Hopper: widening in place never overwrites staged bytes a thread has yet to read`, () => {
      const from = body.indexOf("} else { // the other groups");
      const passes = [...body.slice(from).matchAll(/: its staged E4M3 bytes widened to f16 in place/g)].map((m) => from + m.index!);
      // The latent tile's pass, then the rope tile's.
      for (const [i, [R, C]] of [[64, 512], [64, 64]].entries()) {
        const lines = body.slice(passes[i]).split("\n").slice(0, 14);
        const blocks = Number(/for \(int k = 0; k < (\d+); \+\+k\)/.exec(lines.join("\n"))![1]);
        expect(blocks).toBe(C / 64);
        const readLine = lines.find((l) => l.includes("raw[j] = *"))!;
        const read = /raw\[j\] = \*reinterpret_cast<const uint4\*>\(smem \+ (.*)\);$/.exec(readLine)![1];
        // The threads that widen (tid over [base, base + threads)) and the chunks each takes a block.
        const team = { base: Number(/\(tid - (\d+)\)/.exec(read)?.[1] ?? 0), threads: Number(/j \* (\d+)\)/.exec(read)![1]), per: Number(/j < (\d+);/.exec(readLine)![1]) };
        expect(team.threads * team.per).toBe((R * C) / 16 / (C / 64));
        expect(team, "every thread of both groups").toEqual({ base: 0, threads: 256, per: 1 });
        const rc = /const int r = (.*), c = (.*);$/.exec(lines.find((l) => l.includes("const int r ="))!)!;
        const store = /fp8x16_store<false>\(smem \+ (.*), smem \+ (.*), raw\[j\]\);$/.exec(lines.find((l) => l.includes("fp8x16_store"))!)!;
        const sync = /if \((.*)\) copy_team_sync\(\);/.exec(lines.find((l) => l.includes("copy_team_sync"))!)![1];
        const sw128 = (row: number, col: number, rows: number) => (col >> 6) * rows * 128 + row * 128 + ((((col >> 3) & 7) ^ (row & 7)) << 4) + (col & 7) * 2;
        const ev = (expr: string, vars: Record<string, number>) => {
          const names = [...new Set(expr.match(/\b[a-z_][a-z_0-9]*\b/gi) ?? [])].filter((n) => n !== "sw128");
          return new Function("sw128", ...names, `return ${expr.replace(/(\w+|\([^()]*\)) \/ (\d+)/g, "Math.trunc($1 / $2)")};`)(sw128, ...names.map((n) => vars[n] ?? 0)) as number;
        };
        const readAt: number[][] = [];
        const written: number[][] = [];
        for (let k = 0; k < blocks; k++) {
          readAt.push([]);
          written.push([]);
          for (let tid = team.base; tid < team.base + team.threads; tid++) {
            for (let j = 0; j < team.per; j++) {
              readAt[k].push(ev(read, { tid, j, k }));
              const r = ev(rc[1], { tid, j, k });
              const c = ev(rc[2], { tid, j, k, r });
              written[k].push(ev(store[1], { tid, j, k, r, c }), ev(store[2], { tid, j, k, r, c }));
            }
          }
        }
        const bytes = (starts: number[]) => new Set(starts.flatMap((s) => Array.from({ length: 16 }, (_, i) => s + i)));
        const allRead = bytes(readAt.flat());
        const allWritten = bytes(written.flat());
        // Every staged byte read once, every 16-bit byte written once, the staged half inside the buffer.
        expect(allRead.size).toBe(R * C);
        expect(allWritten.size).toBe(R * C * 2);
        for (const b of allRead) expect(allWritten.has(b)).toBe(true);
        let met = -1; // the last block after whose reads the team met
        const meetings: number[] = [];
        for (let k = 0; k < blocks; k++) {
          const w = bytes(written[k]);
          const later = bytes(readAt.slice(k + 1).flat());
          expect([...w].filter((b) => later.has(b)), `block ${k}`).toEqual([]);
          // Block k's stores overwrite no staged byte read since the team last met (after the
          // reads of block met): some thread might not have read it yet.
          if (ev(sync, { k })) (met = k), meetings.push(k);
          const unsynced = bytes(readAt.slice(met + 1, k + 1).flat());
          expect([...w].filter((b) => unsynced.has(b)), `block ${k}`).toEqual([]);
        }
        // No more meetings than that needs (one before block 0 of the rope tile, three of 8 blocks).
        expect(meetings).toEqual(C === 512 ? [4, 6, 7] : [0]);
      }
    });

    it(`${name}, Ampere: 32-key tiles widened in shared memory by all 256 threads, no wgmma`, () => {
      const k = sm80Of(file, name);
      const sm80 = bodyOf(k.code);
      expect(k.code).toContain("BLOCK_N = 32.");
      expect(sm80).not.toContain("the leader: the narrow tiles");
      expect(sm80).not.toContain("wgmma_fence");
      const passes = sm80.match(/\/\/ \w+: \d+ x \d+ fp8 widened to bf16, shared to shared[^\n]*\n\s*#pragma unroll\n\s*for \(int e = tid; e < \d+; e \+= (\d+)\)/g) ?? [];
      expect(passes.length).toBeGreaterThanOrEqual(2);
      for (const p of passes) expect(p).toMatch(/e \+= 256\)$/);
      // The widened tile is read by the dots from shared memory, not copied into registers too.
      expect(sm80).not.toMatch(/float t_\d+\[128\];/);
    });

    it(`${name}, Hopper: f16 dots (DOT = f16), the bf16 query rounded to f16 once on its way into shared memory`, () => {
      expect(hopper.code).toContain("DOT = f16");
      // The query tiles: 16 bytes read, rounded, stored into their swizzled regions; no cp.async of them.
      for (const [r, c] of [[64, 512], [64, 64]]) expect(body).toMatch(new RegExp(`// Q[nr]_\\d+: ${r} x ${c} into shared memory, 8 bf16 values read and rounded to f16 at a time`));
      expect(body).toMatch(/recast8_copy<true>\(smem \+ 0 \+ sw128\(r, c, 64\), q_nope \+/);
      expect(body).toMatch(/recast8_copy<true>\(smem \+ \d+ \+ sw128\(r, c, 64\), q_rope \+/);
      // Every dot is an f16 wgmma; the cache widens to f16 (one cvt a pair), never to bf16.
      expect(body).toMatch(/wgmma_m64n64k16_ss_f16</);
      expect(body).toMatch(/wgmma_m64n256k16_(rs|ss)_f16</);
      expect(body).not.toMatch(/wgmma_m64n\d+k16_(rs|ss)_bf16</);
      expect(body).toContain("fp8x16_store<false>(");
      expect(body).not.toContain("fp8x16_store<true>(");
      // P is packed to f16 for the others' P·V slice.
      expect(body).toMatch(/= pack_f16\(/);
      expect(body).not.toMatch(/= pack_bf16\(/);
    });

    it(`${name}: applies the descales (the key one to the scores, the value one to the output)`, () => {
      expect(body).toContain("k_descale[");
      expect(body).toContain("v_descale[");
    });
  }
});

describe("the query of MLA over a 16-bit cache on CUDA", () => {
  it("mla_paged.bf16.p64 (DOT = T): copied by cp.async as it is, nothing rounded", () => {
    const body = bodyOf(cudaKernel(["kernels-src/mla.ts"], "mla_paged.bf16.p64", { wgmma: true }).code);
    expect(body).toMatch(/\/\/ Qn_\d+: 64 x 512 into shared memory, 16-byte cp\.async per 8 elements/);
    expect(body).not.toContain("recast8_copy");
    expect(body).toMatch(/wgmma_m64n64k16_ss_bf16</);
  });
});
