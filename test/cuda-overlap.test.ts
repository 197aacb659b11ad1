// The overlapped whole-tile loop (overlap.ts, overlap-emit.ts): which builds take it, the order
// of its issues and waits, and its copies and mbarrier phases run through a model of thread 0
// for every small tile range: each wait finds the copy it expects, no copy lands in a buffer a
// running wgmma reads, every tile's K and V is copied once and read by its dot.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { OVERLAP_MARK, cudaKernel, gqaOneWarpgroup, mhaOneWarpgroup, overlapSections, swaOneWarpgroup } from "./harness/cuda-source.ts";

// mha_prefill with one warpgroup a block (its Hopper builds are warp-specialized now, whose
// consumers run this loop's order: cuda-warp-specialize.test.ts).
const ONE = mhaOneWarpgroup();
// The one-warpgroup builds of mha_prefill, gqa_paged and swa_paged (their Hopper builds are warp-specialized now).
const GQA = gqaOneWarpgroup();
const SWA = swaOneWarpgroup();
const cudaOf = (file: string, name: string) => {
  const one = file.endsWith("mha.ts") ? ONE : file.endsWith("gqa.ts") ? GQA : file.endsWith("sliding_window.ts") ? SWA : undefined;
  return one ? cudaKernel([one.file], name, { wgmma: true }, one.sources) : cudaKernel([file], name, { wgmma: true });
};
const code = (name: string) => cudaOf("kernels-src/mha.ts", name).code;
const MARK = OVERLAP_MARK;
/** The sm_90a version of the overlapped loop: from its comment to the `#else` of the plain loop. */
const overlapped = (src: string): string => overlapSections(src).loop;

/** The loop's copies, waits and wgmma groups as JavaScript: everything else dropped. */
function model(section: string): string {
  const keep = [/^\{/, /^\}/, /^(for|if) \(.*\{$/, /^(const )?int \w+ = /, /^const bool on/, /^mbar_(wait|expect_if)\(/, /^tma_box_if\(/, /^wgmma_(commit|wait)/, /^const uint64_t db = /, /^__syncthreads/, /^widen_(from|into)\(/];
  const out: string[] = [];
  // A paged copy's lanes (`on = tid < pages && ...`): its lines up to the copy's end run for each.
  let lanes = false;
  for (const raw of section.split("\n")) {
    const l = raw.trim().replace(/\s*\/\/.*$/, "");
    if (!keep.some((k) => k.test(l))) continue;
    const pages = /^const bool on = tid < (\d+) && /.exec(l);
    if (pages) {
      out.push(`for (let tid = 0; tid < ${pages[1]}; ++tid) {`);
      lanes = true;
    }
    if (l === "}" && lanes) {
      out.push("}");
      lanes = false;
    }
    out.push(
      l
        .replace(/^const uint64_t db = sw128_desc\(smem \+ (.+?), \d+, \d+\);$/, "read($1);")
        .replace(/\b(const )?(int|bool) /g, "let ")
        .replace(/\(int\)|\(long long\)|&(?=\w+_map)/g, "")
        .replace(/wgmma_wait<(\d)>\(\)/, "wgmma_wait($1)")
        .replace(/__syncthreads\(\)/, "sync()"),
    );
  }
  return out.join("\n");
}

interface Run {
  kCopies: number[];
  vCopies: number[];
  reads: number[];
}

/**
 * Thread 0 (and a paged copy's lanes) through the loop for tiles lo..hi-1: TMA copies land at
 * once, `box` bytes each; bars and buffers by byte offset (a buffer: a read's first byte); the
 * page table maps page p to page p.
 */
function run(js: string, lo: number, hi: number, names: { lo: string; hi: string }, kBase: number, box: number): Run {
  const phases = new Map<number, number>();
  const expected = new Map<number, number>();
  const landed = new Map<number, number>();
  // The buffers: every address a dot reads from (K's, V's two).
  const bases = [...new Set([...js.matchAll(/read\((.+?)\);/g)].flatMap((m) => [0, 1].map((t) => new Function("t", `return ${m[1].replace(/\bt_\d+\b/g, "t")};`)(t) as number)))];
  let groups: number[][] = [];
  let current: number[] = [];
  const out: Run = { kCopies: [], vCopies: [], reads: [] };
  const api = {
    smem: 0,
    tid: 0,
    sw128: (_r: number, c: number, rows: number) => (c >> 6) * rows * 128,
    mbar_expect_if: (on: boolean, bar: number, bytes: number) => {
      if (on) expected.set(bar, bytes);
    },
    tma_box_if: (on: boolean, dst: number, _map: number, _x: number, y: number, bar: number) => {
      if (!on) return;
      const base = Math.max(...bases.filter((b) => b <= dst));
      expect(groups.flat().includes(base), `a copy into ${base} while a wgmma reads it`).toBe(false);
      (base === kBase ? out.kCopies : out.vCopies).push(Math.floor(y / 64));
      landed.set(bar, (landed.get(bar) ?? 0) + box);
      if (landed.get(bar) === expected.get(bar)) {
        phases.set(bar, (phases.get(bar) ?? 0) + 1);
        landed.set(bar, 0);
      }
    },
    mbar_wait: (bar: number, parity: number) => {
      const done = phases.get(bar) ?? 0;
      expect(done > 0 && ((done - 1) & 1) === parity, `wait on ${bar} for parity ${parity} after ${done} phases`).toBe(true);
    },
    read: (base: number) => {
      current.push(base);
      out.reads.push(base);
    },
    wgmma_commit: () => {
      groups.push(current);
      current = [];
    },
    wgmma_wait: (n: number) => {
      groups = n ? groups.slice(-n) : [];
    },
    sync: () => {},
    safe_div: (a: number, b: number) => (b === 0 ? 0 : Math.trunc(a / b)),
    safe_rem: (a: number, b: number) => (b === 0 ? 0 : a % b),
    page_table: new Proxy({}, { get: (_t, k) => Number(k) }),
  };
  const scope = new Proxy(api as Record<string, unknown>, { has: () => true, get: (t, k) => (k === names.lo ? lo : k === names.hi ? hi : typeof k === "string" && k in t ? t[k] : 0) });
  new Function("scope", `with (scope) { ${js} }`)(scope);
  expect(groups).toEqual([]);
  return out;
}

describe("the overlapped whole-tile loop", () => {
  const src = code("mha_prefill.bf16.hd128.nocausal");
  const section = overlapped(src);

  it("issues the next tile's scores, then this tile's P·V, waits for the scores alone, and runs their softmax before P·V's wait", () => {
    const step = section.slice(section.indexOf("for (; "));
    const at = (s: string | RegExp, from = 0) => {
      const i = typeof s === "string" ? step.indexOf(s, from) : from + step.slice(from).search(s);
      expect(i, String(s)).toBeGreaterThanOrEqual(from);
      return i;
    };
    const scores = at("wgmma_m64n64k16_ss_bf16<0>(");
    const pv = at("wgmma_m64n128k16_rs_bf16<1>(carry_", scores);
    const waitScores = at("wgmma_wait<1>(); // the scores of tile", pv);
    const kCopy = at(/tma_box_if\(on, smem \+ 16384/, waitScores);
    const softmax = at("exp2_ftz(", kCopy);
    const pack = at("pb[kk][0] = pack_bf16(", softmax);
    const waitPv = at("wgmma_wait<0>(); // P·V of tile", pack);
    const vCopy = at(/tma_box_if\(on, smem \+ \(/, waitPv);
    expect(at(/carry_\d+\[[^\]]+\] = \(carry_\d+\[[^\]]+\] \* alpha_\d+/, vCopy)).toBeGreaterThan(vCopy);
    // Two P sets taken in turn: P·V reads one while the softmax packs the other.
    expect(step.slice(0, pack)).toContain("auto& af = pa;");
    expect(step).toContain("auto& af = pb;");
    expect(step).toContain("pa[kk][0] = pack_bf16(");
  });

  it("at P·V widths of 64 columns (head dim 64), P in one set packed after P·V's wait, a tile an iteration", () => {
    const one = overlapped(code("mha_prefill.bf16.hd64.nocausal"));
    expect(one).toContain("uint32_t pa[4][4]; // P of a tile, packed for P·V once the P·V before it is done");
    expect(one).not.toMatch(/\bpb\b/);
    const step = one.slice(one.search(/for \(; t_\d+ \+ 1 < t_\d+; \+\+t_\d+\) \{/));
    expect(step.length).toBeLessThan(one.length);
    const waitPv = step.indexOf("wgmma_wait<0>(); // P·V of tile");
    const pack = step.indexOf("pa[kk][0] = pack_bf16(");
    expect(step.indexOf("exp2_ftz(")).toBeLessThan(waitPv);
    expect(waitPv).toBeGreaterThan(0);
    expect(pack).toBeGreaterThan(waitPv);
    // After the loop, the last tile's P·V alone.
    expect(step.slice(step.indexOf("\n    }\n")).match(/wgmma_m64n64k16_rs_bf16<1>\(/g)?.length).toBe(1);
    // Head dim 128 (P·V 128 wide) keeps the two sets.
    expect(section).toContain("uint32_t pa[4][4], pb[4][4];");
  });

  it("writes the next tile's scores with their first wgmma (scale-d 0) instead of zeroing 32 registers first", () => {
    expect(section).toMatch(/float (t_\d+)\[32\]; \/\/ written by the first wgmma \(scale-d 0\)\n\s*wgmma_fence\(\);/);
    expect(section).not.toMatch(/\] = 0\.0f;/);
    expect(section).toMatch(/wgmma_m64n64k16_ss_bf16<0>\(t_\d+, da \+ [^;]*, kk != 0\);/);
    // P·V adds to the rescaled accumulator: the three-argument wrapper, scale-d 1.
    expect(section).toMatch(/wgmma_m64n128k16_rs_bf16<1>\(carry_\d+, af\[kk\], db \+ \(uint64_t\)\(\(kk \* 2048\) >> 4\)\);/);
    expect(src).toContain('asm volatile("{\\n.reg .pred p;\\nsetp.ne.b32 p, %35, 0;\\n"');
  });

  it("branches on no thread while a wgmma may run: copies are predicated", () => {
    expect(section).not.toContain("if (tid == 0)");
    expect(section.match(/const bool on = tid == 0 && /g)?.length).toBeGreaterThanOrEqual(6);
    expect(src).toContain("__device__ __forceinline__ void tma_box_if(bool on,");
  });

  it("gives V a second buffer and mbarrier past the rest: 49168 + 1024-aligned 16 KiB + 8 bytes", () => {
    const k = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.nocausal");
    expect(k.target.sharedBytes).toBe(50176 + 16384 + 8);
    expect(k.code).toContain("mbar_init(smem + 66560);");
    expect(section).toMatch(/\(\(t_\d+ & 1\) \? 50176 : 32768\)/);
  });

  it("keeps the plain loop for other architectures", () => {
    const rest = src.slice(src.indexOf(MARK));
    expect(rest.slice(rest.indexOf("\n  #else\n"), rest.indexOf("\n  #endif\n"))).toMatch(/for \(int t_\d+ = t_\d+; t_\d+ < t_\d+; \+\+t_\d+\) \{/);
  });

  // The whole-tile loops of a contiguous cache (head dim 128, P in two sets; head dim 64, one) and
  // of two paged caches (four pages a tile, one): boxes of 64 or 16 rows. Layout: K's buffer and
  // mbarrier, a tile's bytes, V's two buffers.
  const hd128 = { k: 16384, kBar: 49152, bytes: 16384, v: [32768, 50176] };
  const hd64 = { k: 8192, kBar: 24576, bytes: 8192, v: [16384, 25600] };
  for (const [file, name, boxesPerTile, at] of [
    ["mha.ts", "mha_prefill.bf16.hd128.nocausal", 2, hd128],
    ["mha.ts", "mha_prefill.bf16.hd64.nocausal", 1, hd64],
    ["gqa.ts", "gqa_paged.bf16.g4.p16", 8, hd128],
    ["gqa.ts", "gqa_paged.bf16.g4.p64", 2, hd128],
  ] as const) {
    it(`${name}, every small tile range: each wait finds its copy, no copy overwrites a buffer being read, each tile copied and read once`, () => {
      const s = overlapped(cudaOf(`kernels-src/${file}`, name).code);
      const [, lo, hi] = /if \((t_\d+) < (t_\d+)\) \{/.exec(s)!;
      const js = model(s);
      const box = at.bytes / boxesPerTile;
      for (let first = 0; first < 3; first++)
        for (let n = 1; n <= 7; n++) {
          // K(lo) is copied before the loop onto K's mbarrier (phase 0), as for the plain loop.
          const before = `mbar_expect_if(1, ${at.kBar}, ${at.bytes}); ${Array.from({ length: boxesPerTile }, () => `tma_box_if(1, ${at.k}, 0, 0, ${first * 64}, ${at.kBar});`).join(" ")}\n`;
          const r = run(before + js, first, first + n, { lo, hi }, at.k, box);
          const tiles = Array.from({ length: n }, (_, i) => first + i);
          const each = (copies: number[]) => tiles.map((t) => copies.filter((c) => c === t).length);
          expect(each(r.kCopies), `K's boxes a tile, tiles ${first}..${first + n - 1}`).toEqual(tiles.map(() => boxesPerTile));
          expect(each(r.vCopies), "V's boxes a tile").toEqual(tiles.map(() => boxesPerTile));
          expect(r.kCopies.length + r.vCopies.length).toBe(2 * boxesPerTile * n);
          expect(r.reads.filter((b) => b === at.k).length, "scores dots").toBe(n);
          expect(r.reads.filter((b) => (at.v as readonly number[]).includes(b)).length, "P·V dots").toBe(n);
          expect(new Set(r.reads.filter((b) => b !== at.k)).size, "both V buffers").toBe(n > 1 ? 2 : 1);
        }
    });
  }
});

describe("which loops take it", () => {
  it("head dim 128 and head dim 64 with 64-key tiles; not head dim 256 or 128-key tiles (registers)", () => {
    for (const name of ["mha_prefill.bf16.hd128.causal", "mha_prefill.f16.hd128.nocausal", "mha_prefill.bf16.hd64.nocausal"]) expect(code(name)).toContain(MARK);
    for (const name of ["mha_prefill.bf16.hd256.causal", "mha_prefill.f16.hd256.nocausal", "mha_prefill.bf16.hd64.causal"]) expect(code(name)).not.toContain(MARK);
  });

  it("blocks of two and three row warpgroups sharing each K and V tile, each warpgroup reading its own rows of Q", () => {
    const file = ONE.file;
    for (const [rows, warps] of [[128, 8], [192, 12]]) {
      const spec = ONE.sources.get(file)!.replace("HEAD_DIM in [64, 128, 256], BLOCK_M = 64,", `HEAD_DIM in [64, 128, 256], BLOCK_M = ${rows},`);
      const k = cudaKernel([file], "mha_prefill.bf16.hd128.causal", { wgmma: true }, new Map([[file, spec]]));
      expect(k.target.blockDim).toEqual([32 * warps, 1, 1]);
      expect(k.code).toContain(`${32 * warps} threads (${warps} warps x 1 row tile(s) of 16`);
      const s = overlapped(k.code);
      // The scores' A descriptor: the warpgroup's 64 rows of each 128-byte column block of Q.
      expect(s).toContain(`const uint64_t da = sw128_desc(smem + 0 + wg_row * 8192, 16, 1024);`);
      expect(k.code).toContain("const int wg_row = __shfl_sync(0xffffffffu, warp >> 2, 0);");
      // Q's rows, then K's one buffer at 1024 alignment past it.
      expect(s).toContain(`tma_box_if(on, smem + ${rows * 256} + sw128(0, 0, 64), &k_map`);
    }
  });

  it("paged loops with TMA tiles (pages of 16 and 64), not one-row pages (cp.async), decode or MLA kernels", () => {
    for (const name of ["gqa_paged.bf16.g4.p16", "gqa_paged.f16.g1.p64"]) expect(cudaOf("kernels-src/gqa.ts", name).code).toContain(MARK);
    expect(cudaOf("kernels-src/sliding_window.ts", "swa_paged.bf16.p16").code).toContain(MARK);
    for (const name of ["gqa_paged.bf16.g4.p1", "gqa_decode.bf16.g4.p16", "gqa_paged_fp8.bf16.g4.p1"]) expect(cudaOf("kernels-src/gqa.ts", name).code).not.toContain(MARK);
    expect(cudaOf("kernels-src/mla.ts", "mla_paged.bf16.p64").code).not.toContain(MARK);
  });

  it("a paged copy reads the page table only in the lanes that issue it, and for tile lo past the last tile", () => {
    const s = overlapped(cudaOf("kernels-src/gqa.ts", "gqa_paged.bf16.g4.p16").code);
    expect(s).toMatch(/const bool on = tid < 4 && \((t_\d+) \+ 2 < (t_\d+)\);\n\s*const int j = tid < 4 \? tid : 0;\n\s*const int x = [^,]+, y = on \? \(\(page_table\[/);
    expect(s).toMatch(/const int (t_\d+)_ahead = \(\(\((t_\d+) \+ 2 < (t_\d+)\) \? \(\2 \+ 2\) : (t_\d+)\) \* 64\);/);
  });
});

/**
 * The overlapped loop over an fp8 cache as JavaScript: its copies, waits, widenings and wgmma
 * groups. A widening step reads staged bytes at `widen_from(base)` and stores 16-bit values at
 * `widen_into(base)`; each dot reads from its descriptor's base.
 */
function widenModel(section: string): string {
  const lines = section
    .split("\n")
    .map((raw) =>
      raw
        .replace(
          /^(\s*)const uint4 w = \*reinterpret_cast<const uint4\*>\(smem \+ (.+) \+ r \* 128 \+ c\);$/,
          "$1widen_from($2);",
        )
        .replace(
          /^(\s*)fp8x8_widen<(?:true|false)>\(smem \+ (\d+) \+ sw128.*$/,
          "$1widen_into($2);",
        ),
    );
  return model(lines.join("\n"));
}

describe("the overlapped loop over an fp8 cache (staged E4M3 tiles widened after each copy)", () => {
  // With the split query (split-scores.ts, the default) the scores read K's staged tile itself;
  // without it (the build's fallback) K's widened tile.
  for (const [P, split] of [16, 64].flatMap((p) => [true, false].map((x) => [p, x] as const))) {
    const name = `gqa_paged_fp8.bf16.g4.p${P}`;
    const what = split ? "the scores reading K's staged tile (split query)" : "each dot reading the widened tile of its own copy";
    it(`${name}, every small tile range: ${what}; no widening or copy writes a tile a running wgmma reads`, () => {
      const k = cudaKernel(["kernels-src/gqa.ts"], name, { wgmma: true, splitScores: split });
      const s = overlapped(k.code);
      expect(s.includes("wgmma_m64n64k32_ss_e4m3("), "FP8 scores").toBe(split);
      // No code for other architectures inside the Hopper loop (the widening's own #if left out).
      expect(s).not.toContain("#if");
      const [, lo, hi] = /if \((t_\d+) < (t_\d+)\) \{/.exec(s)!;
      // The query's split before the loop (split-scores.ts) is no copy, wait or dot.
      const js = widenModel(s.replace(/\n[^\n]*split into two E4M3 tiles[\s\S]*?read them with no barrier before/, ""));
      const fromBases = [
        ...new Set(
          [...js.matchAll(/widen_from\((.+?)\);/g)].flatMap((m) =>
            [0, 1].map(
              (t) =>
                new Function("t", `return ${m[1].replace(/\bt_\d+\b/g, "t")};`)(
                  t,
                ) as number,
            ),
          ),
        ),
      ];
      const reads = [
        ...new Set(
          [...js.matchAll(/read\((\d+)\);/g)].map((m) => Number(m[1])),
        ),
      ];
      expect(reads.length, "K's tile (widened, or staged) and V's widened one").toBe(2);
      expect(fromBases.length, "K's staging tile (unless read as it is) and V's two").toBe(split ? 2 : 3);
      const kStage = split ? reads[0] : fromBases[0];
      const stagings = [...fromBases, kStage];
      const check = (js: string) => {
        for (let first = 0; first < 3; first++)
          for (let n = 1; n <= 6; n++) {
            const staged = new Map<number, number>(); // staging tile -> the tile its bytes are of
            const widened = new Map<number, number>(); // widened tile -> the tile it holds
            const phases = new Map<number, number>();
            const expected = new Map<number, number>();
            const arrived = new Map<number, number>();
            let groups: number[][] = [];
            let current: number[] = [];
            let from = -1;
            const seen: { base: number; tile: number }[] = [];
            const api = {
              smem: 0,
              tid: 0,
              lane: 0,
              sw128: () => 0,
              mbar_expect_if: (on: boolean, bar: number, bytes: number) => {
                if (on) expected.set(bar, bytes);
              },
              tma_box_if: (
                on: boolean,
                dst: number,
                _map: number,
                _x: number,
                y: number,
                bar: number,
              ) => {
                if (!on) return;
                const base = Math.max(...stagings.filter((b) => b <= dst));
                expect(
                  groups.flat().includes(base) || current.includes(base),
                  `a copy into ${base} while a wgmma reads it`,
                ).toBe(false);
                staged.set(base, Math.floor(y / 64));
                arrived.set(bar, (arrived.get(bar) ?? 0) + P * 128);
                if (arrived.get(bar) === expected.get(bar)) {
                  phases.set(bar, (phases.get(bar) ?? 0) + 1);
                  arrived.set(bar, 0);
                }
              },
              mbar_wait: (bar: number, parity: number) => {
                const done = phases.get(bar) ?? 0;
                expect(
                  done > 0 && ((done - 1) & 1) === parity,
                  `wait on ${bar} for parity ${parity} after ${done} phases`,
                ).toBe(true);
              },
              widen_from: (base: number) => {
                from = base;
              },
              widen_into: (base: number) => {
                expect(
                  groups.flat().includes(base) || current.includes(base),
                  `widening into ${base} while a wgmma reads it`,
                ).toBe(false);
                widened.set(base, staged.get(from)!);
              },
              read: (base: number) => {
                current.push(base);
                seen.push({ base, tile: (split && base === kStage ? staged : widened).get(base)! });
              },
              wgmma_commit: () => {
                groups.push(current);
                current = [];
              },
              wgmma_wait: (m: number) => {
                groups = m ? groups.slice(-m) : [];
              },
              sync: () => {},
              safe_div: (a: number, b: number) =>
                b === 0 ? 0 : Math.trunc(a / b),
              safe_rem: (a: number, b: number) => (b === 0 ? 0 : a % b),
              page_table: new Proxy({}, { get: (_t, key) => Number(key) }),
            };
            const scope = new Proxy(api as Record<string, unknown>, {
              has: () => true,
              get: (t, key) =>
                key === lo
                  ? first
                  : key === hi
                    ? first + n
                    : typeof key === "string" && key in t
                      ? t[key]
                      : 0,
            });
            // K(lo) is copied before the loop onto K's mbarrier (phase 0), as for the plain loop.
            const kBar = Number(/mbar_wait\(smem \+ (\d+), /.exec(s)![1]);
            const before = `mbar_expect_if(1, ${kBar}, 8192); ${Array.from({ length: 64 / P }, (_, j) => `tma_box_if(1, ${kStage + j * P * 128}, 0, 0, ${first * 64 + j * P}, ${kBar});`).join(" ")}\n`;
            new Function("scope", `with (scope) { ${before + js} }`)(scope);
            expect(groups).toEqual([]);
            const tiles = Array.from({ length: n }, (_, i) => first + i);
            const [kw, vw] = [
              seen[0].base,
              seen.find((x) => x.base !== seen[0].base)?.base,
            ];
            expect(
              seen.filter((x) => x.base === kw).map((x) => x.tile),
              `scores, tiles ${first}..${first + n - 1}`,
            ).toEqual(tiles);
            expect(
              seen.filter((x) => x.base === vw).map((x) => x.tile),
              "P·V",
            ).toEqual(tiles);
          }
      };
      check(js);
      // The check can fail: V widened into K's tile (written while the scores read it), or each
      // dot reading the other's tile.
      expect(() =>
        check(
          js.replace(
            new RegExp(`widen_into\\(${reads[1]}\\)`, "g"),
            `widen_into(${reads[0]})`,
          ),
        ),
      ).toThrow();
      expect(() =>
        check(
          js.replace(
            /read\((\d+)\)/g,
            (_m, b) => `read(${Number(b) === reads[0] ? reads[1] : reads[0]})`,
          ),
        ),
      ).toThrow();
    });
  }

  it("drops it before a block an SM where it spills: the paged fp8 builds that ship it keep three blocks an SM", () => {
    const manifest = JSON.parse(
      fs.readFileSync("generated/manifest.json", "utf8"),
    ) as { kernels: Record<string, { cuda?: { file: string } }[]> };
    let overlappedBuilds = 0;
    for (const [name, builds] of Object.entries(manifest.kernels)) {
      if (!/_paged_fp8\./.test(name)) continue;
      for (const b of builds) {
        if (!b.cuda) continue;
        const src = fs.readFileSync(`generated/cuda/${b.cuda.file}`, "utf8");
        if (!src.includes(MARK)) continue;
        overlappedBuilds++;
        expect(src, b.cuda.file).toContain("__launch_bounds__(128, 3)");
      }
    }
    expect(overlappedBuilds).toBeGreaterThan(0);
  });
});
