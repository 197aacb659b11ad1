// The warp-specialized schedule (warp-specialize.ts, ws-emit.ts): which builds take it, and its
// producer and consumers run as JavaScript through a model of their mbarriers, named barriers,
// TMA boxes, cp.async copies and wgmma groups, under random interleavings, for tile ranges of
// every small size across the kernel's loops. The model checks what the GPU would not tell us
// (a race shows as a wrong answer, or none): no role waits forever, every tile's K and V is
// copied once into the stage its count names, every wgmma reads the tile it expects and only
// once the copy has landed, and no copy lands in a stage a running wgmma reads.
import { describe, expect, it } from "vitest";
import { cudaKernel } from "./harness/cuda-source.ts";
import { freshSeed } from "./reference/rng.ts";
import { WsModel } from "./harness/ws-model.ts";
import { wsConsumerRegs } from "../compiler/backends/cuda/warp-specialize.ts";

const ws = (name: string, file = "kernels-src/mha.ts") => cudaKernel([file], name, { sm90Only: true });

/** Each broken variant of `code` shows an error or a deadlock in some of thirty interleavings of three tiles a loop. */
function expectCaught(code: string, broken: Record<string, string>): void {
  const base = freshSeed();
  for (const [what, src] of Object.entries(broken)) {
    expect(src, what).not.toBe(code);
    const model = new WsModel(src);
    // About half the interleavings show one; thirty runs all missing it: 1e-9.
    const bad = Array.from({ length: 30 }, (_, k) => model.run(model.loops.map(() => 3), 0, base + k)).filter((r) => r.errors.length || r.deadlock);
    expect(bad.length, `${what} (seed ${base})`).toBeGreaterThan(0);
  }
}

describe("the warp-specialized schedule on CUDA", () => {
  it("takes mha_prefill at head dims 128 and 256, and gqa_paged at page 64 with boxes, where the build is sm_90a's alone", () => {
    for (const [name, consumers, regs, file, boxRows] of [
      ["mha_prefill.bf16.hd128.causal", 2, 224, "kernels-src/mha.ts", 128],
      ["mha_prefill.f16.hd256.nocausal", 2, 224, "kernels-src/mha.ts", 64],
      ["gqa_paged.bf16.g4.p64", 2, 224, "kernels-src/gqa.ts", 64],
      ["gqa_paged.f16.g8.p64", 2, 224, "kernels-src/gqa.ts", 64],
    ] as const) {
      const k = ws(name, file);
      const threads = 128 * (consumers + 1);
      expect(k.target.blockDim).toEqual([threads, 1, 1]);
      expect(k.code).toContain(`__launch_bounds__(${threads}, 1)`);
      expect(k.code).toContain(`regs_inc<${regs}>();`);
      expect(k.code).toContain("} else { // the consumers");
      // TMA boxes of all a tile's rows (or a page's), 64 columns each, of K and of V.
      expect(k.target.tensorMaps?.map((m) => m.box)).toEqual([
        [64, boxRows],
        [64, boxRows],
      ]);
      // The consumers never meet the producer at a block barrier.
      const consumer = k.code.slice(k.code.indexOf("} else { // the consumers"));
      expect(consumer).not.toContain("__syncthreads()");
    }
  });

  it("takes gqa_paged, swa_paged and sinks_paged at pages 1 and 16 with a producer that gathers each tile's rows by cp.async", () => {
    for (const [name, file] of [
      ["gqa_paged.bf16.g4.p1", "kernels-src/gqa.ts"],
      ["gqa_paged.f16.g8.p1", "kernels-src/gqa.ts"],
      ["gqa_paged.bf16.g4.p16", "kernels-src/gqa.ts"],
      ["swa_paged.bf16.p1", "kernels-src/sliding_window.ts"],
      ["sinks_paged.f16.p16", "kernels-src/sinks.ts"],
    ]) {
      const k = ws(name, file);
      expect(k.target.blockDim).toEqual([384, 1, 1]);
      // No box spans one-row pages: no tensor map; 56 registers for the producer's row addresses.
      expect(k.target.tensorMaps ?? []).toEqual([]);
      expect(k.code).toContain("regs_dec<56>();");
      expect(k.code).toContain("regs_inc<224>();");
      const producer = k.code.slice(k.code.indexOf("// the producer"), k.code.indexOf("} else { // the consumers"));
      expect(producer).not.toContain("tma_box");
      // Each full mbarrier counts the 128 producer threads' arrivals, one a thread as its copies land.
      for (const s of [0, 1]) expect(k.code).toMatch(new RegExp(`mbar_init_n\\(smem \\+ \\d+ \\+ 8 \\* \\(${s}\\), 128\\);`));
      expect(producer.match(/cp_async_arrive_noinc\(/g)?.length).toBeGreaterThanOrEqual(2);
      expect(producer).not.toContain("cp_async_wait_all");
      // One table read a row: the lanes copying a row take its address by shuffle.
      expect(producer).toContain("__shfl_sync(0xffffffffu, row_at, from)");
      // Every consumer wait on a full stage is followed by the async-proxy fence.
      const consumer = k.code.slice(k.code.indexOf("} else { // the consumers"));
      const waits = consumer.split("\n").flatMap((l, i, a) => (/mbar_wait\(.*\/\/ [KV]_\d+ of /.test(l) ? [a[i + 1]] : []));
      expect(waits.length).toBeGreaterThanOrEqual(4);
      for (const next of waits) expect(next).toContain("fence_async_proxy();");
    }
  });

  it("gives the consumers the registers the block holds at launch, less the producer's (setmaxnreg.inc waits for them)", () => {
    // Two consumers and a producer: 384 threads, 168 registers each at launch (64512); three: 512 x 128.
    expect(wsConsumerRegs(2, 48)).toBe(224);
    expect(wsConsumerRegs(2, 56)).toBe(224);
    expect(wsConsumerRegs(3, 32)).toBe(160);
    // A producer of 64 (a widening one, tried): 216, where 224 came to 65536 and hung on an H200.
    expect(wsConsumerRegs(2, 64)).toBe(216);
    for (const [n, p] of [[2, 48], [2, 56], [2, 64], [2, 72], [3, 32], [3, 40]]) {
      const threads = (n + 1) * 128;
      expect(128 * p + n * 128 * wsConsumerRegs(n, p), `${n} ${p}`).toBeLessThanOrEqual(threads * Math.floor(65536 / threads / 8) * 8);
    }
  });

  it("leaves every other build as it was", () => {
    // Not sm_90a's alone: the one-warpgroup loops (the tiles are the spec's either way).
    const plain = cudaKernel(["kernels-src/mha.ts"], "mha_prefill.bf16.hd128.causal");
    expect(plain.code).not.toContain("regs_inc<");
    expect(plain.target.blockDim).toEqual([256, 1, 1]);
    // TMA-fed stages take no fence after their waits, and the producer keeps 48 registers.
    const boxed = ws("gqa_paged.bf16.g4.p64", "kernels-src/gqa.ts").code;
    expect(boxed).not.toContain("cp_async_arrive_noinc");
    expect(boxed).not.toContain("the stage was gathered");
    expect(boxed).toContain("regs_dec<48>();");
  });

  for (const [name, file] of [
    ["mha_prefill.bf16.hd128.causal", "kernels-src/mha.ts"],
    ["mha_prefill.bf16.hd128.nocausal", "kernels-src/mha.ts"],
    ["mha_prefill.f16.hd256.causal", "kernels-src/mha.ts"],
    // K and V from pages of 64 rows: lane j of the producer's first warp issues page j's boxes.
    ["gqa_paged.f16.g1.p64", "kernels-src/gqa.ts"],
    // Pages of 16 rows and of one: every producer thread gathers its rows and arrives as its copies land.
    ["gqa_paged.bf16.g4.p16", "kernels-src/gqa.ts"],
    ["gqa_paged.bf16.g4.p1", "kernels-src/gqa.ts"],
    // A window: loops whose first and last tiles move with the query rows.
    ["swa_paged.f16.p1", "kernels-src/sliding_window.ts"],
  ]) {
    it(`${name}: the roles' protocol holds for every small tile range, under random interleavings`, () => {
      const model = new WsModel(ws(name, file).code);
      const loops = model.loops.length;
      expect(loops).toBeGreaterThanOrEqual(1);
      // Tiles in each loop: every split of up to 5 tiles over the loops, the last tile partial or whole.
      const splits: number[][] = [];
      const walk = (prefix: number[], left: number) => {
        if (prefix.length === loops) return splits.push(prefix);
        for (let n = 0; n <= left; n++) walk([...prefix, n], left - n);
      };
      walk([], 5);
      let runs = 0;
      const base = freshSeed();
      for (const split of splits) {
        for (const tail of [0, 5]) {
          for (let seed = base; seed < base + 3; seed++) {
            const r = model.run(split, tail, seed);
            expect(r.deadlock, `${split} tail ${tail} seed ${seed}: ${r.deadlock}`).toBeUndefined();
            expect(r.errors, `${split} tail ${tail} seed ${seed}`).toEqual([]);
            const tiles = split.reduce((a, b) => a + b, 0);
            // Each stage got exactly the tiles whose count has its parity, K and V alike.
            expect(r.written.map((w) => w.join())).toEqual(r.stages.map((_, i) => Array.from({ length: tiles }, (_, c) => c).filter((c) => (c & 1) === i % 2).join()));
            // Every consumer group read every tile's K and V.
            for (const a of r.consumers) expect([...a.readCounts].sort((x, y) => x - y)).toEqual(Array.from({ length: tiles }, (_, c) => [c, c]).flat());
            runs++;
          }
        }
      }
      expect(runs).toBeGreaterThan(20);
    });
  }

  it("the model catches a consumer that reads V before it lands or releases it early, and the tail's parity race", () => {
    const code = ws("mha_prefill.bf16.hd128.nocausal").code;
    const broken = {
      "no wait for V": code.replace(/\n\s*mbar_wait\([^\n]*\/\/ V_\d+ of [^\n]*in its stage/g, ""),
      "V released early": code.replace(/(\n\s*wgmma_wait<0>\(\); \/\/ P·V of tile[^\n]*\n\s*for \(int i = 0; i < \d+; \+\+i\) reg_fence\([^\n]*\n)(\s*mbar_arrive\([^\n]*\n)/g, "\n$2$1"),
    };
    expectCaught(code, broken);
    const base = freshSeed();
    // The producer group copying the tile past the keys' end without first meeting thread 0: a
    // thread that skipped thread 0's TMA tiles waits on a parity two phases or more behind, and
    // passes on an old phase (the suite failed so, h200-cuda-suite-prefill-ws-tail-race-2026-12-01.log).
    const early = code.replace(/producers_sync\(\);\n(\s*mbar_wait)/g, "$1");
    expect(early).not.toBe(code);
    const model = new WsModel(early);
    const split = model.loops.map((_, i, a) => (i === a.length - 1 ? 1 : i === a.length - 2 ? 5 : 0));
    expect(Array.from({ length: 30 }, (_, k) => model.run(split, 5, base + k)).filter((r) => r.errors.length || r.deadlock).length).toBeGreaterThan(0);
    // A K release before the scores' wait is harmless here: the producer copies K(t + 3) only
    // after V(t + 2), whose stage frees once P·V(t), after that wait, is done.
  });

  it("the model catches a gathering producer that skips its arrival or the stage's empty wait", () => {
    const code = ws("gqa_paged.bf16.g4.p1", "kernels-src/gqa.ts").code;
    const broken = {
      // Every second arrival (V's) dropped: the consumers wait for V forever.
      "no arrival": code.replace(/(cp_async_arrive_noinc\([^\n]*\n[\s\S]*?)\n\s*cp_async_arrive_noinc\([^\n]*/g, "$1"),
      "no empty wait": code.replace(/\n\s*mbar_wait\([^\n]*\/\/ V_\d+'s stage is free/g, ""),
    };
    expectCaught(code, broken);
  });

  it("the model catches a pending P·V dropped between the loops or after the last", () => {
    // The loops are one pipeline (overlap-emit.ts): a loop's last tile's P·V runs in the next
    // loop that has tiles, or after the last loop. Dropped, a tile's V is never read.
    const code = ws("mha_prefill.bf16.hd128.causal").code;
    const broken = {
      "a loop forgets the pending tile": code.replace(/ws_pending \? (\S+) - 1 : \1;/g, "$1;"),
      "no P·V after the last loop": code.replace(/if \(ws_pending\) \{ \/\/ the last tile's P·V/, "if (false) {"),
    };
    const base = freshSeed();
    for (const [what, src] of Object.entries(broken)) {
      expect(src, what).not.toBe(code);
      const model = new WsModel(src);
      // Tiles in two loops: the first loop's last P·V pends into the second.
      const split = model.loops.map((_, i, a) => (i >= a.length - 2 ? 2 : 0));
      const r = model.run(split, 0, base);
      const read = r.consumers.map((a) => [...a.readCounts].sort((x, y) => x - y).join());
      const all = Array.from({ length: 4 }, (_, c) => [c, c]).flat().join();
      expect(!!r.deadlock || read.some((x) => x !== all), `${what} (seed ${base})`).toBe(true);
    }
  });
});
