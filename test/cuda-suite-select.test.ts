// The CUDA suite's build selection (scripts/suite-builds.ts) over the shipped manifest: what
// --filter, --arch and --shard pick, since a wrong pick on the GPU machine wastes device time.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { KernelManifest } from "../runtime/manifest.ts";
import { buildId, selectBuilds } from "../scripts/suite-builds.ts";

const manifest = JSON.parse(fs.readFileSync("generated/manifest.json", "utf8")) as { kernels: Record<string, KernelManifest[]> };
const all = Object.values(manifest.kernels).flat().filter((m) => m.cuda);
const names = (ms: KernelManifest[]) => ms.map((m) => m.name);

describe("CUDA suite build selection", () => {
  it("takes every CUDA build by default, and substrings (any of several) with --filter", () => {
    expect(names(selectBuilds(manifest, {}))).toEqual(names(all));
    const p1 = names(selectBuilds(manifest, { filters: ["gqa_paged_fp8.bf16.g4.p1"] }));
    expect(p1).toEqual(["gqa_paged_fp8.bf16.g4.p1", "gqa_paged_fp8.bf16.g4.p16"]);
    const two = names(selectBuilds(manifest, { filters: ["swa_paged.", "merge_states"] }));
    // Six instances, each with an sm_80 build of its own (128 x 32 tiles).
    expect(two.filter((n) => n.startsWith("swa_paged.")).length).toBe(12);
    expect(two.every((n) => n.startsWith("swa_paged.") || n.startsWith("merge_states"))).toBe(true);
  });

  it("takes one build alone with NAME$", () => {
    expect(names(selectBuilds(manifest, { filters: ["gqa_paged_fp8.bf16.g4.p1$", "swa_paged.f16.p64$"] })).sort()).toEqual([
      "gqa_paged_fp8.bf16.g4.p1",
      "swa_paged.f16.p64",
    ]);
    expect(selectBuilds(manifest, { filters: ["gqa_paged_fp8.bf16.g4$"] })).toEqual([]);
  });

  it("with --arch keeps the builds that ship that PTX and offers the loader it alone", () => {
    const sm90 = selectBuilds(manifest, { arch: "sm_90a" });
    expect(sm90.length).toBe(all.filter((m) => "sm_90a" in m.cuda!.ptx).length);
    expect(sm90.length).toBeLessThan(all.length);
    // Hopper PTX ships with the E4M3 widening (fp8 builds) and with wgmma (prefill, MLA), not for decode.
    for (const m of sm90) expect(m.cuda!.ptx, m.name).toEqual({ sm_90a: `${m.name}.sm_90a.ptx.gz` });
    expect(names(sm90)).toEqual(expect.arrayContaining(["gqa_decode_split_fp8.bf16.g8.p64", "mha_prefill.bf16.hd128.causal", "mla_paged.bf16.p16"]));
    expect(names(sm90)).not.toContain("gqa_decode.bf16.g4.p16");
    const sm80 = selectBuilds(manifest, { filters: ["gqa_decode_split_fp8.bf16.g8.p64$"], arch: "sm_80" });
    expect(sm80.map((m) => m.cuda!.ptx)).toEqual([{ sm_80: "gqa_decode_split_fp8.bf16.g8.p64.sm_80.ptx.gz" }]);
    expect(() => selectBuilds(manifest, { arch: "sm_100a" })).toThrow("no selected build ships PTX for sm_100a");
  });

  it("names a build of one architecture alone NAME.sm_80, which --arch sm_80 takes in the main build's place", () => {
    const both = selectBuilds(manifest, { filters: ["mha_prefill.bf16.hd128.causal"] });
    expect(both.map((m) => [buildId(m), m.params.BLOCK_M])).toEqual([
      ["mha_prefill.bf16.hd128.causal", 128],
      ["mha_prefill.bf16.hd128.causal.sm_80", 128],
    ]);
    expect(selectBuilds(manifest, { filters: ["mha_prefill.bf16.hd128.causal$"] }).map(buildId)).toEqual(["mha_prefill.bf16.hd128.causal"]);
    expect(selectBuilds(manifest, { filters: ["mha_prefill.bf16.hd128.causal.sm_80$"] }).map(buildId)).toEqual(["mha_prefill.bf16.hd128.causal.sm_80"]);
    const ampere = selectBuilds(manifest, { filters: ["mha_prefill.bf16"], arch: "sm_80" });
    expect(ampere.map((m) => [buildId(m), m.params.BLOCK_M]).sort()).toEqual([
      ["mha_prefill.bf16.hd128.causal.sm_80", 128],
      ["mha_prefill.bf16.hd128.nocausal.sm_80", 128],
      ["mha_prefill.bf16.hd256.causal.sm_80", 64],
      ["mha_prefill.bf16.hd256.nocausal.sm_80", 64],
      ["mha_prefill.bf16.hd64.causal.sm_80", 128],
      ["mha_prefill.bf16.hd64.nocausal.sm_80", 128],
    ]);
  });

  it("splits the selection into disjoint shards that cover it", () => {
    // By build: an instance with a build of its own for sm_80 (MLA over an fp8 cache) has two.
    const ids = (ms: KernelManifest[]) => ms.map(buildId);
    const shards = [0, 1, 2].map((k) => ids(selectBuilds(manifest, { filters: ["fp8"], shard: `${k}/3` })));
    expect(shards.flat().sort()).toEqual(ids(selectBuilds(manifest, { filters: ["fp8"] })).sort());
    expect(shards.flat()).toContain("mla_paged_fp8.bf16.p64.sm_80");
    expect(new Set(shards.flat()).size).toBe(shards.flat().length);
    for (const bad of ["3/3", "1/0", "x/2", "1"]) expect(() => selectBuilds(manifest, { shard: bad }), bad).toThrow("--shard wants K/N");
  });
});
