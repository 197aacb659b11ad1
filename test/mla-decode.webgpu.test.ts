// MLA (absorbed, paged latent cache), split-KV decode with merge_states, and the KV-pool writes on
// WebGPU vs the float64 reference; plus the proof that tiles outside a window are skipped, not
// masked: keys there are NaN, and any visit would turn the output into NaN.
import { beforeAll, describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels } from "../compiler/generate.ts";
import { getDevice, type DeviceHandle } from "../runtime/backends/webgpu/index.ts";
import type { KernelManifest } from "../runtime/manifest.ts";
import type { HostTensor, KernelCase } from "./harness/case.ts";
import { decodeSplitCase, kvWriteCase, mergeCase } from "./harness/decode.ts";
import { mlaCase, mlaSplitCase } from "./harness/mla.ts";
import { MODES } from "./harness/modes.ts";
import { pagedCase } from "./harness/paged.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "./harness/webgpu.ts";
import { freshSeed, makeRng, type Rng } from "./reference/numeric.ts";

let gpu: DeviceHandle;
let set: GeneratedSet;

beforeAll(async () => {
  const diags = new Diagnostics();
  const files = ["mla", "decode_split", "merge_states", "kv_write", "sliding_window", "gqa"].map((f) => `kernels-src/${f}.ts`);
  set = inMemory(compileKernels(files, diags));
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
  gpu = await getDevice();
});

function expectClose(name: string, errors: Record<string, number>, tol: Record<string, number>, seed: number): void {
  for (const [out, err] of Object.entries(errors)) expect(err, `${name} ${out} (seed ${seed})`).toBeLessThan(tol[out]);
}

describe("MLA, split-KV decode, merge_states, KV writes", () => {
  const mlaBuilds = ["f32", "f16"].flatMap((t) => [1, 16, 64].map((p) => `mla_paged.${t}.p${p}`));
  // Two builds over an E4M3 latent cache with per-request descales.
  mlaBuilds.push("mla_paged_fp8.f32.p16", "mla_paged_fp8.f16.p64");
  for (const name of mlaBuilds) {
    it(`${name}: every mode, 512 + 64 latent`, async () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const k = await loadBest(gpu.device, gpu.info, set, name);
      // MLA packs all heads of a token into the tile rows; fewer heads keep CI fast.
      for (const [i, mode] of MODES.entries()) {
        const qLens = mode.qLens.map((q) => Math.min(q, 16));
        const kLens = mode.kLens.map((kl, j) => Math.max(kl, qLens[j]));
        const c = mlaCase(k.manifest, { qLens, kLens, heads: i === 3 ? 16 : 4, causal: i % 2 === 0 }, rng);
        const r = await runCase(gpu.device, k, c);
        expectClose(`${name} ${mode.name} ${c.label}`, r.errors, c.tolerance, seed);
      }
    });
  }

  /** Each build's partial states, one case per spec, against the reference on its key ranges. */
  function splitTests<S>(builds: string[], specs: S[], caseOf: (m: KernelManifest, spec: S, rng: Rng) => KernelCase): void {
    for (const name of builds) {
      it(`${name}: each split's partial state over its key range`, async () => {
        const seed = freshSeed();
        const rng = makeRng(seed);
        const k = await loadBest(gpu.device, gpu.info, set, name);
        for (const spec of specs) {
          const c = caseOf(k.manifest, spec, rng);
          const r = await runCase(gpu.device, k, c);
          expectClose(`${name} ${c.label}`, r.errors, c.tolerance, seed);
        }
      });
    }
  }

  const splitBuilds = ["f32", "f16"].flatMap((t) => [1, 4].flatMap((g) => [1, 16, 64].map((p) => `gqa_decode_split.${t}.g${g}.p${p}`)));
  // Two builds over an E4M3 cache with per (request, kv head) descales.
  splitBuilds.push("gqa_decode_split_fp8.f32.g4.p1", "gqa_decode_split_fp8.f16.g1.p16");
  splitTests(splitBuilds, [{ kLens: [1, 339, 1024], kvHeads: 2, splitLen: 128 }, { kLens: [4096, 77], kvHeads: 1, splitLen: 1000 }], decodeSplitCase);

  const mlaSplitBuilds = ["f32", "f16"].flatMap((t) => [1, 16, 64].map((p) => `mla_decode_split.${t}.p${p}`));
  // And two of the split over it.
  mlaSplitBuilds.push("mla_decode_split_fp8.f16.p1", "mla_decode_split_fp8.f32.p64");
  splitTests(mlaSplitBuilds, [{ kLens: [1, 339, 700], heads: 4, splitLen: 128 }, { kLens: [1500], heads: 16, splitLen: 1000 }], mlaSplitCase);

  for (const name of ["merge_states.f32.hd64", "merge_states.f32.hd128", "merge_states.f16.hd128", "merge_states.f32.hd512"]) {
    it(`${name}: N-way merge with empty states`, async () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const k = await loadBest(gpu.device, gpu.info, set, name);
      for (const spec of [{ splits: 1, rows: 5 }, { splits: 2, rows: 33 }, { splits: 7, rows: 40 }]) {
        const c = mergeCase(k.manifest, spec, rng);
        const r = await runCase(gpu.device, k, c);
        expectClose(`${name} ${c.label}`, r.errors, c.tolerance, seed);
      }
    });
  }

  for (const name of ["set_kv_buffer.f32", "set_kv_buffer.f16", "set_latent_buffer.f32", "set_latent_buffer.f16", "set_latent_buffer_fp8.f32", "set_latent_buffer_fp8.f16"]) {
    // Exactly, but for the fp8 pool's rare one-step flip at a tie (its case's tolerance says why).
    it(`${name} scatters rows to out_cache_loc and leaves the rest of the pool alone`, async () => {
      const rng = makeRng(freshSeed());
      const k = await loadBest(gpu.device, gpu.info, set, name);
      for (const spec of [{ tokens: 7, kvHeads: 2, headDim: 128, slots: 64 }, { tokens: 3, kvHeads: 8, headDim: 576, slots: 9 }]) {
        const c = kvWriteCase(k.manifest, spec, rng);
        const r = await runCase(gpu.device, k, c);
        for (const [out, e] of Object.entries(r.errors)) expect(e, `${name} ${out}`).toBeLessThanOrEqual(c.tolerance[out]);
      }
    });
  }
});

describe("tiles outside the mask are skipped, not masked", () => {
  /** Replace K and V of the given key positions of request b with NaN in the paged cache. */
  function poisonKeys(inputs: Record<string, HostTensor | number>, b: number, positions: number[], page: number, row: number): void {
    const table = inputs.page_table as HostTensor;
    const maxPages = table.shape[1];
    for (const name of ["k_cache", "v_cache"]) {
      const data = Float32Array.from((inputs[name] as HostTensor).data);
      for (const j of positions) {
        const slot = (table.data[b * maxPages + Math.floor(j / page)] as number) * page + (j % page);
        data.fill(NaN, slot * row, (slot + 1) * row);
      }
      (inputs[name] as HostTensor).data = data;
    }
  }

  it("a sliding window of 17 never reads key tiles before it", async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const k = await loadBest(gpu.device, gpu.info, set, "swa_paged.f32.p16");
    const c = pagedCase(k.manifest, { qLens: [1, 4], kLens: [1000, 700], kvHeads: 1, causal: true, window: [17, 0] }, rng);
    const BN = k.manifest.params.BLOCK_N as number;
    const row = (k.manifest.params.HEAD_DIM as number) * 1;
    // Request 0 (one query at 999) sees keys 982..999; request 1 (queries 696..699) sees 679..699.
    poisonKeys(c.inputs, 0, range(0, Math.floor(982 / BN) * BN), 16, row);
    poisonKeys(c.inputs, 1, range(0, Math.floor(679 / BN) * BN), 16, row);
    const r = await runCase(gpu.device, k, c);
    expectClose("swa skip", r.errors, c.tolerance, seed);
  });

  it("a causal loop stops at the diagonal, and partial/full segments split where the mask says", async () => {
    const { compileIR, findInstance, interpret } = await import("../compiler/interp/index.ts");
    const diags = new Diagnostics();
    const ir = findInstance(compileIR(["kernels-src/gqa.ts"], diags), "gqa_paged.f32.g1.p16");
    const rng = makeRng(freshSeed());
    // One 100-token causal prefill: query tile m (16 rows) may only visit key tiles (32 keys)
    // up to its last row's diagonal, 16m + 15.
    const c = pagedCase({ ...set.kernels["gqa_paged.f32.g1.p16"][0], params: ir.params }, { qLens: [100], kLens: [100], kvHeads: 1, causal: true }, rng);
    const visited = new Map<number, { partial: number; full: number }>();
    const args = Object.fromEntries(Object.entries({ ...c.inputs, ...Object.fromEntries(Object.entries(c.outputs).map(([n, o]) => [n, { ...o, data: new Float64Array(o.shape.reduce((a, b) => a * b, 1)) }])) }));
    interpret(ir, args as never, {
      trace: ({ loop, lo, hi, program }) => {
        const v = visited.get(program[0]) ?? { partial: 0, full: 0 };
        if (loop.status === "full") v.full += hi - lo;
        else v.partial += Math.max(0, hi - lo);
        visited.set(program[0], v);
      },
    });
    for (const [m, v] of visited) {
      const lastKeyTile = Math.floor((16 * m + 15) / 32);
      expect(v.full + v.partial, `query tile ${m}`).toBe(lastKeyTile + 1);
      // Tiles entirely below the first row's diagonal (16m) are full; the rest are partial.
      expect(v.full, `query tile ${m}`).toBe(Math.floor((16 * m + 1) / 32));
    }
    expect(visited.size).toBe(Math.ceil(100 / 16));
  });
});

function range(lo: number, hi: number): number[] {
  return Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i);
}
