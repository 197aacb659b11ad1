// Every paged attention variant (GQA/MHA/MQA, sliding window, chunked local, softcap, sinks) x
// every mode (prefill, extend, decode, target-verify, mixed) x page size x dtype, on WebGPU
// against the float64 reference with fresh random inputs; outputs and LSE are checked.
import { beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels } from "../compiler/generate.ts";
import { getDevice, type DeviceHandle } from "../runtime/backends/webgpu/index.ts";
import { MODES, VARIANT_OPTIONS } from "./harness/modes.ts";
import { pagedCase } from "./harness/paged.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "./harness/webgpu.ts";
import { freshSeed, makeRng } from "./reference/numeric.ts";

let gpu: DeviceHandle;
let set: GeneratedSet;
const FILES = ["gqa", "sliding_window", "local_chunked", "softcap", "sinks"].map((f) => `kernels-src/${f}.ts`);

beforeAll(async () => {
  const diags = new Diagnostics();
  set = inMemory(compileKernels(FILES, diags));
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
  gpu = await getDevice();
});

const OPTIONS = VARIANT_OPTIONS;

const INSTANCES = [
  ...["gqa_paged", "swa_paged", "local_paged", "softcap_paged", "sinks_paged"].flatMap((k) =>
    ["f32", "f16"].flatMap((t) => (k === "gqa_paged" ? ["g1.", "g4."] : [""]).flatMap((g) => [1, 16, 64].map((p) => `${k}.${t}.${g}p${p}`))),
  ),
  // An E4M3 cache with per (request, kv head) descales, against the dequantized cache.
  ...["gqa", "swa", "local", "softcap", "sinks"].flatMap((k) => ["f32", "f16"].flatMap((t) => [1, 16].map((p) => `${k}_paged_fp8.${t}.p${p}`))),
  // gqa_paged under another name (its 16-row CUDA tiles are the point): the alias runs every mode.
  "gqa_decode.f32.p16",
  "gqa_decode_fp8.f16.p16",
];

describe("paged attention variants on WebGPU vs the float64 reference", () => {
  for (const name of INSTANCES) {
    it(name, async () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const k = await loadBest(gpu.device, gpu.info, set, name);
      const variant = OPTIONS[k.manifest.kernel];
      for (const [i, mode] of MODES.entries()) {
        const c = pagedCase(k.manifest, { qLens: mode.qLens, kLens: mode.kLens, kvHeads: 2, ...variant(i) }, rng);
        const r = await runCase(gpu.device, k, c);
        for (const [out, err] of Object.entries(r.errors)) {
          expect(err, `${name} ${mode.name} ${c.label} ${out} (seed ${seed})`).toBeLessThan(c.tolerance[out]);
        }
      }
    });
  }

  it("MQA: one kv head shared by four query heads", async () => {
    const rng = makeRng(freshSeed());
    const k = await loadBest(gpu.device, gpu.info, set, "gqa_paged.f32.g4.p16");
    const c = pagedCase(k.manifest, { qLens: [1, 64], kLens: [339, 800], kvHeads: 1, causal: true }, rng);
    const r = await runCase(gpu.device, k, c);
    expect(r.errors.out).toBeLessThan(1e-5);
    expect(r.errors.lse).toBeLessThan(1e-5);
  });
});
