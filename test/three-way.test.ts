// Interpreter, WebGPU and reference agree, for one instance of every kernel in kernels-src/: the
// interpreter runs the tile IR the WGSL backend consumed, so agreement means lowering to WGSL kept
// the IR's meaning, and agreement with the reference means the IR is right.
import { beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels } from "../compiler/generate.ts";
import { compileIR, findInstance, interpretCase } from "../compiler/interp/index.ts";
import type { KernelIR } from "../compiler/ir/ir.ts";
import { getDevice, type DeviceHandle } from "../runtime/backends/webgpu/index.ts";
import { DEFAULT_CASES } from "./harness/registry.ts";
import { fp8EdgeCase } from "./harness/decode.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "./harness/webgpu.ts";
import { freshSeed, makeRng, relError } from "./reference/numeric.ts";

let gpu: DeviceHandle;
let set: GeneratedSet;
let irs: KernelIR[];

beforeAll(async () => {
  const diags = new Diagnostics();
  set = inMemory(compileKernels(["kernels-src"], diags));
  irs = compileIR(["kernels-src"], diags);
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
  gpu = await getDevice();
});

const ONE_OF_EACH = [
  "mha_prefill.f32.hd64.causal", "gqa_paged.f32.g4.p16", "gqa_paged.f16.g1.p1", "swa_paged.f32.p64", "local_paged.f32.p16", "softcap_paged.f32.p1",
  "sinks_paged.f16.p16", "gqa_paged_fp8.f16.p16", "sinks_paged_fp8.f32.p1", "mla_paged.f32.p16", "gqa_decode.f16.p16", "gqa_decode_split.f32.g4.p64", "gqa_decode_split_fp8.f16.g4.p16", "mla_decode_split.f16.p16", "merge_states.f32.hd128", "set_kv_buffer.f16", "set_kv_buffer_fp8.f32", "set_latent_buffer.f32",
  "mla_paged_fp8.f16.p1", "mla_decode_split_fp8.f32.p16", "set_latent_buffer_fp8.f16",
];

describe("interpreter = WebGPU = reference", () => {
  for (const name of ONE_OF_EACH) {
    it(name, async () => {
      const seed = freshSeed();
      const k = await loadBest(gpu.device, gpu.info, set, name);
      const c = DEFAULT_CASES[k.manifest.kernel](k.manifest, makeRng(seed));
      const interp = interpretCase(findInstance(irs, name), c);
      const gpuRun = await runCase(gpu.device, k, c);
      for (const out of Object.keys(c.outputs)) {
        const tol = c.tolerance[out];
        expect(gpuRun.errors[out], `${name} ${out} WebGPU vs reference (seed ${seed})`).toBeLessThanOrEqual(tol);
        expect(relError(interp[out], c.expected[out]), `${name} ${out} interpreter vs reference (seed ${seed})`).toBeLessThanOrEqual(tol);
      }
    });
  }
});

describe("E4M3 rounding", () => {
  it("set_kv_buffer_fp8 rounds every boundary value as CUDA does (WebGPU and interpreter, exact)", async () => {
    const name = "set_kv_buffer_fp8.f32";
    const k = await loadBest(gpu.device, gpu.info, set, name);
    const c = fp8EdgeCase(k.manifest);
    const interp = interpretCase(findInstance(irs, name), c);
    const gpuRun = await runCase(gpu.device, k, c);
    for (const out of ["k_cache", "v_cache"]) {
      expect(gpuRun.errors[out], `${out} on WebGPU`).toBe(0);
      expect(Array.from(interp[out]), `${out} in the interpreter`).toEqual(Array.from(c.expected[out]));
    }
  });
});
