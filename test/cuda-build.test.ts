// CI builds every shipped CUDA kernel with nvcc for sm_80 and sm_90a (each build for those whose
// blocks may have its shared memory) with `-Xptxas -v`: no register spills, no stack frame and no
// numbered ptxas note, in any default configuration; the resource report in the manifest is what
// ptxas says; and the PTX in the package is exactly nvcc's.
import fs from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type Arch, archsFitting, buildPtx, nvccPath } from "../compiler/backends/cuda/nvcc.ts";
import type { KernelManifest } from "../runtime/manifest.ts";

const manifest = JSON.parse(fs.readFileSync("generated/manifest.json", "utf8")) as { kernels: Record<string, KernelManifest[]> };
const cudaBuilds = Object.values(manifest.kernels).flat().filter((m) => m.cuda);

describe("CUDA kernels built with nvcc for sm_80 and sm_90a", () => {
  it("nvcc is installed (CI builds the CUDA kernels; it needs no GPU)", () => {
    expect(nvccPath(), "nvcc not found: install the CUDA toolkit").toBeDefined();
    expect(cudaBuilds.length).toBeGreaterThan(40);
  });

  it("ships sm_90a PTX beside sm_80 exactly where the source has a path for newer GPUs (E4M3 widening, wgmma)", () => {
    const source = (m: KernelManifest) => fs.readFileSync(path.join("generated/cuda", m.cuda!.file), "utf8");
    const fp8 = cudaBuilds.filter((m) => source(m).includes("fp8x8_widen"));
    const wgmma = cudaBuilds.filter((m) => source(m).includes("wgmma_fence()"));
    // Builds of one architecture alone: from a spec's `target cuda sm_80:` clause, or because
    // the main build needs more shared memory than an sm_80 block may have.
    const own = cudaBuilds.filter((m) => /\.sm_\d+a?\.cu$/.test(m.cuda!.file));
    const overShared = own.filter((m) => /needs \d+ bytes of shared memory, over the \d+ an sm_80 block may have/.test(source(m)));
    expect(fp8.length).toBeGreaterThanOrEqual(60);
    // The 12 mha_prefill, 84 paged prefill and 24 MLA builds, 12 of them over an fp8 cache
    // (cuda-wgmma.test.ts says which fit).
    expect(wgmma.length).toBe(120);
    // 128-row mma.sync tiles for Ampere: mha_prefill at head dims 64 and 128, swa_paged; 64-row
    // ones at 256 and for gqa_paged, sinks_paged and softcap_paged at every page size (their
    // Hopper builds: 128-row warp-specialized blocks); MLA's 32-key tiles (its Hopper builds take
    // 64-key tiles in 224 KiB: leader.ts).
    const pages = (k: string) => ["bf16", "f16"].flatMap((t) => ["p1", "p16", "p64"].map((p) => `${k}.${t}.${p}.sm_80.cu`));
    const gqa = ["bf16", "f16"].flatMap((t) => ["g1", "g4", "g8"].flatMap((g) => ["p1", "p16", "p64"].map((p) => `gqa_paged.${t}.${g}.${p}.sm_80.cu`))).concat(pages("sinks_paged"), pages("softcap_paged"));
    const clauses = own.filter((m) => !overShared.includes(m));
    expect(clauses.map((m) => m.cuda!.file).sort()).toEqual(
      [...["bf16", "f16"].flatMap((t) => ["hd128.causal", "hd128.nocausal", "hd64.causal", "hd64.nocausal", "hd256.causal", "hd256.nocausal"].map((s) => `mha_prefill.${t}.${s}.sm_80.cu`)), ...pages("swa_paged"), ...["mla_paged", "mla_decode_split", "mla_paged_fp8", "mla_decode_split_fp8"].flatMap(pages), ...gqa].sort(),
    );
    // No main build is left over an sm_80 block's shared memory without a clause of its own.
    expect(overShared).toEqual([]);
    const ptx = (file: string) => gunzipSync(fs.readFileSync(path.join("generated/cuda", file))).toString("utf8");
    for (const m of own) {
      expect(Object.keys(m.cuda!.ptx), m.name).toEqual(["sm_80"]);
      expect(m.cuda!.sharedBytes, m.name).toBeLessThanOrEqual(163 * 1024);
      expect(m.name.startsWith("mla_") ? m.params.BLOCK_N : m.params.BLOCK_M, m.name).toBe(m.name.startsWith("mla_") ? 32 : m.params.HEAD_DIM === 256 || /^(gqa|sinks|softcap)_paged\./.test(m.name) ? 64 : 128);
      expect(source(m), m.name).not.toContain("wgmma");
    }
    // MLA's Hopper builds: 64-key tiles in 224 KiB, so their PTX is for sm_90a alone. At pages
    // of 16 and 64 rows TMA copies the whole 16-bit tiles (tma.ts): two mbarriers more, and a
    // tensor map. An fp8 cache's tiles are staged by cp.async and widened (copy-emit.ts).
    for (const m of clauses.filter((x) => x.name.startsWith("mla_"))) {
      const main = cudaBuilds.find((x) => x.name === m.name && x !== m)!;
      const tma = Number(main.params.PAGE) >= 16 && main.params.KV !== "f8e4m3";
      expect(main.params.BLOCK_N, m.name).toBe(64);
      expect(main.cuda!.sharedBytes, m.name).toBe(tma ? 229888 + 16 : 229888);
      expect(main.cuda!.tensorMaps, m.name).toEqual(tma ? [{ tensor: "c_kv", box: [64, main.params.PAGE], swizzle: 128 }] : undefined);
      expect(Object.keys(main.cuda!.ptx), m.name).toEqual(["sm_90a"]);
      expect(source(main), m.name).toContain("bar.arrive 1, 256");
    }
    const byName = new Map<string, KernelManifest[]>();
    for (const m of cudaBuilds) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
    for (const [name, builds] of byName) {
      // Every kernel runs on Ampere and on Hopper: one of its builds ships sm_80 PTX, and no two
      // ship PTX for the same architecture.
      const archs = builds.flatMap((m) => Object.keys(m.cuda!.ptx)).sort();
      expect(new Set(archs).size, name).toBe(archs.length);
      expect(archs, name).toContain("sm_80");
      const main = builds.find((m) => !own.includes(m))!;
      const expected = fp8.includes(main) || wgmma.includes(main) ? ["sm_80", "sm_90a"] : ["sm_80"];
      expect(archs, name).toEqual(expected);
      const shipping = (arch: string) => ptx(builds.find((m) => arch in m.cuda!.ptx)!.cuda!.ptx[arch]);
      // One cvt per pair on Hopper; the portable PTX moves bits instead (no cvt from e4m3 there).
      if (fp8.includes(main)) {
        expect(shipping("sm_90a"), name).toContain("cvt.rn.f16x2.e4m3x2");
        expect(shipping("sm_80"), name).not.toContain("e4m3x2");
      }
      // wgmma on Hopper; the portable PTX runs the dots as ldmatrix + mma.sync.
      if (wgmma.includes(main)) {
        expect(shipping("sm_90a"), name).toContain("wgmma.mma_async");
        expect(shipping("sm_80"), name).not.toContain("wgmma");
      }
    }
  });

  it("every kernel compiles without spills, and ships nvcc's PTX", { timeout: 1_800_000 }, async () => {
    const problems: string[] = [];
    await Promise.all(
      cudaBuilds.map(async (m) => {
        const code = fs.readFileSync(path.join("generated/cuda", m.cuda!.file), "utf8");
        // Every architecture whose blocks may have this much shared memory (MLA's Hopper builds: sm_90a alone).
        const archs: Arch[] = archsFitting(m.cuda!.sharedBytes);
        expect(archs, m.name).toEqual(expect.arrayContaining(Object.keys(m.cuda!.ptx)));
        const built = await buildPtx(m.name, code, archs);
        for (const arch of archs) {
          const r = built.resources[arch];
          if (r.spillStores || r.spillLoads || r.stackBytes) problems.push(`${m.name} ${arch}: ${r.spillStores} bytes spill stores, ${r.spillLoads} loads, ${r.stackBytes} stack`);
          // ptxas's numbered notes: C7512 (wgmma serialized for want of registers), C7519 (a
          // fence injected between wgmma) and the like.
          for (const n of built.notes?.[arch] ?? []) problems.push(`${m.name} ${arch}: ${n}`);
          expect(m.cuda!.resources?.[arch], `${m.name} ${arch} resource report`).toEqual(r);
        }
        for (const [arch, file] of Object.entries(m.cuda!.ptx)) {
          const shipped = gunzipSync(fs.readFileSync(path.join("generated/cuda", file))).toString("utf8");
          if (shipped !== built.ptx[arch as Arch]) problems.push(`${m.name}: shipped ${arch} PTX differs from nvcc's`);
        }
      }),
    );
    expect(problems).toEqual([]);
  });
});
