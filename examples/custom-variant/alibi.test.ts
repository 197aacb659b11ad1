// The ALiBi variant of docs/writing-a-variant.md, tested like the variants in kernels-src/: every
// mode and page size, f32 and f16, on WebGPU and in the interpreter, against the float64 reference.
import { beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../../compiler/diagnostics/format.ts";
import { compileKernels } from "../../compiler/generate.ts";
import { compileIR, findInstance, interpretCase } from "../../compiler/interp/index.ts";
import { getDevice, type DeviceHandle } from "../../runtime/backends/webgpu/index.ts";
import { MODES } from "../../test/harness/modes.ts";
import { pagedCase } from "../../test/harness/paged.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "../../test/harness/webgpu.ts";
import { freshSeed, makeRng, relError } from "../../test/reference/numeric.ts";

const FILE = "examples/custom-variant/alibi.ts";
let gpu: DeviceHandle;
let set: GeneratedSet;

beforeAll(async () => {
  const diags = new Diagnostics();
  set = inMemory(compileKernels([FILE], diags));
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
  gpu = await getDevice();
});

describe("ALiBi, a user-written variant", () => {
  for (const name of ["alibi_paged.f32.p1", "alibi_paged.f32.p16", "alibi_paged.f16.p1", "alibi_paged.f16.p16"]) {
    it(`${name} on WebGPU, every mode`, async () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const k = await loadBest(gpu.device, gpu.info, set, name);
      for (const [i, mode] of MODES.entries()) {
        const c = pagedCase(k.manifest, { qLens: mode.qLens, kLens: mode.kLens, kvHeads: 2, causal: i % 3 !== 1, alibi: true }, rng);
        const r = await runCase(gpu.device, k, c);
        for (const [out, err] of Object.entries(r.errors)) expect(err, `${name} ${mode.name} ${out} (seed ${seed})`).toBeLessThan(c.tolerance[out]);
      }
    });
  }

  it("the interpreter agrees with the reference", () => {
    const seed = freshSeed();
    const diags = new Diagnostics();
    const ir = findInstance(compileIR([FILE], diags), "alibi_paged.f32.p16");
    const c = pagedCase({ ...set.kernels["alibi_paged.f32.p16"][0] }, { qLens: [1, 5], kLens: [70, 40], kvHeads: 1, causal: true, alibi: true }, makeRng(seed));
    const got = interpretCase(ir, c);
    expect(relError(got.out, c.expected.out), `seed ${seed}`).toBeLessThan(1e-5);
    expect(relError(got.lse, c.expected.lse), `seed ${seed}`).toBeLessThan(1e-5);
  });
});
