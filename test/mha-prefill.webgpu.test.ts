// MHA prefill compiled from kernels-src/mha.ts, run on WebGPU (lavapipe in CI) and compared with
// the float64 reference on fresh random inputs, every instance (f32/f16, head dim 64/128,
// causal or not), outputs poisoned with NaN before each launch.
import { beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels } from "../compiler/generate.ts";
import { getDevice, type DeviceHandle } from "../runtime/backends/webgpu/index.ts";
import { mhaPrefillCase, type PrefillSpec } from "./harness/mha.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "./harness/webgpu.ts";
import { freshSeed, makeRng } from "./reference/numeric.ts";

let gpu: DeviceHandle;
let set: GeneratedSet;

beforeAll(async () => {
  const diags = new Diagnostics();
  const kernels = compileKernels(["kernels-src/mha.ts"], diags);
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
  set = inMemory(kernels);
  gpu = await getDevice();
});

const SPECS: PrefillSpec[] = [
  { qLens: [1], heads: 2 },
  { qLens: [7], heads: 2 },
  { qLens: [63], heads: 2 },
  { qLens: [64], heads: 1 },
  { qLens: [65], heads: 2 },
  { qLens: [257], heads: 1 },
  // a mixed batch, then prefixes (more keys than queries) and the reverse (rows that see no key)
  { qLens: [1, 7, 63, 64, 65, 257], heads: 2 },
  { qLens: [7, 65, 1], kLens: [63, 300, 40], heads: 2 },
  { qLens: [65, 20], kLens: [7, 20], heads: 1 },
  // NaN rows past the last sequence's keys (partial key tiles over them) stay out of every result
  { qLens: [70, 37], kLens: [70, 37], heads: 2, padKeys: 64 },
];

const INSTANCES = ["f32", "f16"].flatMap((t) => [64, 128].flatMap((d) => ["causal", "nocausal"].map((c) => `mha_prefill.${t}.hd${d}.${c}`)));

describe("mha_prefill on WebGPU vs the float64 reference", () => {
  for (const name of INSTANCES) {
    it(name, async () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const k = await loadBest(gpu.device, gpu.info, set, name);
      const params = set.kernels[name][0].params;
      for (const spec of SPECS) {
        const c = mhaPrefillCase(params, spec, rng);
        const r = await runCase(gpu.device, k, c);
        for (const [out, err] of Object.entries(r.errors)) {
          expect(err, `${name} ${c.label} ${out} (seed ${seed})`).toBeLessThan(c.tolerance[out]);
        }
      }
    });
  }

  it("a 1000-token sequence, f32 and f16, causal", async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const name of ["mha_prefill.f32.hd128.causal", "mha_prefill.f16.hd64.causal"]) {
      const k = await loadBest(gpu.device, gpu.info, set, name);
      const c = mhaPrefillCase(set.kernels[name][0].params, { qLens: [1000], heads: 1 }, rng);
      const r = await runCase(gpu.device, k, c);
      for (const [out, err] of Object.entries(r.errors)) expect(err, `${name} ${out} (seed ${seed})`).toBeLessThan(c.tolerance[out]);
    }
  });

  it("both the subgroup and the workgroup-memory variants are correct", async () => {
    const rng = makeRng(freshSeed());
    const name = "mha_prefill.f32.hd64.causal";
    const variants = set.kernels[name];
    expect(variants.map((v) => v.wgsl!.file)).toEqual([`${name}.sg.wgsl`, `${name}.wgsl`]);
    const { loadKernel } = await import("../runtime/backends/webgpu/index.ts");
    for (const m of variants) {
      if (m.wgsl!.requires.features.includes("subgroups") && !gpu.info.features.includes("subgroups")) continue;
      if ((m.wgsl!.requires.minSubgroupSize ?? 0) > (gpu.info.subgroupMinSize ?? 0)) continue;
      const k = await loadKernel(gpu.device, gpu.info, m, set.wgsl(m.wgsl!.file));
      const c = mhaPrefillCase(m.params, { qLens: [33, 70], heads: 2 }, rng);
      const r = await runCase(gpu.device, k, c);
      expect(r.errors.out, m.wgsl!.file).toBeLessThan(1e-5);
      expect(r.errors.lse, m.wgsl!.file).toBeLessThan(1e-5);
    }
  });
});
