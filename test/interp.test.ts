// The CPU interpreter of the tile IR (compiler/interp): every mha_prefill instance against the
// float64 reference, against WebGPU running the WGSL lowered from the same IR, exact results on
// tiny specs, the runtime's argument errors word for word, and out-of-range accesses caught
// with the tensor, index and program named. Inputs are fresh random draws; a failure prints the
// seed (replay with FLASHTILE_SEED=<seed>).
import { beforeAll, describe, expect, it } from "vitest";
import { baseManifest } from "../compiler/backends/wgsl/index.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels, compileSources } from "../compiler/generate.ts";
import type { KernelIR } from "../compiler/ir/ir.ts";
import {
  compileIR, compileSourcesIR, findInstance, interpret, interpretCase, roundBf16, roundF16, type InterpretArgs,
} from "../compiler/interp/index.ts";
import { bindArgs, BufferUsage, getDevice, type DeviceHandle } from "../runtime/backends/webgpu/index.ts";
import { isTensor, type KernelCase } from "./harness/case.ts";
import { mhaPrefillCase, type PrefillSpec } from "./harness/mha.ts";
import { inMemory, loadBest, runCase, type GeneratedSet } from "./harness/webgpu.ts";
import { freshSeed, makeRng, randn, relError, roundToBf16, roundToF16 } from "./reference/numeric.ts";

let mha: KernelIR[];

beforeAll(() => {
  const diags = new Diagnostics();
  mha = compileIR(["kernels-src/mha.ts"], diags);
  if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
});

const INSTANCES = ["f32", "f16"].flatMap((t) => [64, 128].flatMap((d) => ["causal", "nocausal"].map((c) => `mha_prefill.${t}.hd${d}.${c}`)));

const SPECS: PrefillSpec[] = [
  // a mixed batch of plain prefills
  { qLens: [1, 7, 63, 64, 65, 257], heads: 2 },
  // prefixes: more keys than queries
  { qLens: [7, 65, 1], kLens: [63, 300, 40], heads: 2 },
  // more queries than keys: under causal masking the first rows see no key at all
  { qLens: [65, 20], kLens: [7, 20], heads: 1 },
  // a request with no keys: no row of it sees anything, causal or not
  { qLens: [3, 5], kLens: [0, 4], heads: 2 },
];

/** Rows (token, head) whose reference LSE is -inf must come out exactly 0 with LSE -inf. */
function checkEmptyRows(c: KernelCase, out: Record<string, Float64Array>, what: string): number {
  const lse = c.expected.lse;
  const D = c.outputs.out.shape[2];
  let empty = 0;
  for (let row = 0; row < lse.length; row++) {
    if (lse[row] !== -Infinity) continue;
    empty++;
    expect(out.lse[row], `${what} lse row ${row}`).toBe(-Infinity);
    for (let d = 0; d < D; d++) expect(out.out[row * D + d], `${what} out row ${row}`).toBe(0);
  }
  return empty;
}

describe("mha_prefill interpreted vs the float64 reference", () => {
  for (const name of INSTANCES) {
    it(name, () => {
      const seed = freshSeed();
      const rng = makeRng(seed);
      const ir = findInstance(mha, name);
      let empty = 0;
      for (const spec of SPECS) {
        const c = mhaPrefillCase(ir.params, spec, rng);
        const what = `${name} ${c.label} (seed ${seed})`;
        const out = interpretCase(ir, c);
        for (const o of ["out", "lse"]) expect(relError(out[o], c.expected[o]), `${what} ${o}`).toBeLessThan(c.tolerance[o]);
        empty += checkEmptyRows(c, out, what);
      }
      // The k_len = 0 request's 3 rows x 2 heads are empty either way; causal adds 58 rows of the
      // q_len 65 / k_len 7 request and the first row (x 2 heads) of the q_len 5 / k_len 4 one.
      expect(empty).toBe(ir.params.CAUSAL ? 6 + 58 + 2 : 6);
    });
  }

  it("interprets a 300-token, 2-head, head_dim 64 prefill in well under a few seconds", () => {
    const rng = makeRng(freshSeed());
    for (const name of ["mha_prefill.f32.hd64.nocausal", "mha_prefill.f32.hd64.causal", "mha_prefill.f16.hd64.nocausal"]) {
      const ir = findInstance(mha, name);
      const c = mhaPrefillCase(ir.params, { qLens: [300], heads: 2 }, rng);
      const t0 = performance.now();
      const out = interpretCase(ir, c);
      const ms = performance.now() - t0;
      console.log(`interp ${name} ${c.label}: ${ms.toFixed(0)} ms`);
      expect(relError(out.out, c.expected.out)).toBeLessThan(c.tolerance.out);
      expect(ms).toBeLessThan(3000);
    }
  });
});

describe("interpreter vs WebGPU on the same IR", () => {
  let gpu: DeviceHandle;
  let set: GeneratedSet;

  beforeAll(async () => {
    const diags = new Diagnostics();
    set = inMemory(compileKernels(["kernels-src/mha.ts"], diags));
    if (diags.hasErrors()) throw new Error(formatDiagnostics(diags.list));
    gpu = await getDevice();
  });

  for (const name of INSTANCES) {
    it(name, async () => {
      const f16 = name.includes(".f16.");
      if (f16 && !gpu.info.features.includes("shader-f16")) return; // the adapter cannot run it
      const seed = freshSeed();
      const rng = makeRng(seed);
      const ir = findInstance(mha, name);
      const kernel = await loadBest(gpu.device, gpu.info, set, name);
      for (const spec of SPECS.slice(0, 3)) {
        const c = mhaPrefillCase(ir.params, spec, rng);
        const interp = interpretCase(ir, c);
        // The harness measures the GPU's outputs against `expected`: make that the interpreter's.
        const r = await runCase(gpu.device, kernel, { ...c, expected: interp });
        // f16 differs by the odd ulp where exp2 approximations flip the rounding of P to f16.
        const tol = f16 ? 2e-3 : 1e-5;
        for (const [o, err] of Object.entries(r.errors)) expect(err, `${name} ${c.label} ${o} (seed ${seed})`).toBeLessThan(tol);
      }
    });
  }

  it("integer division and remainder agree where WGSL and the IR agree (nonzero divisors)", async () => {
    const [ir] = tiny("intdiv");
    const c = intdivCase([-7, 7, -7, 7, 2147483647, -2147483648, 13, -1], [2, -2, -2, 2, 1, -1, 5, 3]);
    const interp = interpretCase(ir, c);
    const gset = inMemory(compileSources({ [path("intdiv")]: SPECS_SRC.intdiv }).kernels);
    const kernel = await loadBest(gpu.device, gpu.info, gset, ir.name);
    const r = await runCase(gpu.device, kernel, { ...c, expected: interp });
    expect(r.errors).toEqual({ q: 0, r: 0, s: 0 });
  });
});

// ---- tiny hand-written specs with exact expected values ------------------------------------

const spec = (body: string) => `import { kernel } from "flashtile";\nexport const k = kernel\`\n${body}\n\`;\n`;
const path = (name: string) => `test/virtual/interp/${name}.ts`;

const SPECS_SRC: Record<string, string> = {
  rowsum: spec(`kernel rowsum_k<R = 4, C = 8>
(x: f32[n, C], y: f32[n], z: f32[n])
grid (m in tiles(n, R)) {
  let r = rows(m, R)
  let X = load x[r, :] where r < n
  store y[r] = rowsum(X) where r < n
  store z[r] = rowmax(X) where r < n
}`),
  intdiv: spec(`kernel intdiv<N = 8>
(a: i32[N], b: i32[N], q: i32[N], r: i32[N], s: i32[N])
grid (g in 1) {
  let i = cols(0, N)
  let A = load a[i]
  let B = load b[i]
  store q[i] = A / B
  store r[i] = A % B
  store s[i] = A + B
}`),
  padded: spec(`kernel padded<B = 8>
(x: f32[n], y: f32[B])
grid (g in 1) {
  let i = cols(0, B)
  store y[i] = load x[i] where i < n else -1.5
}`),
  colsum: spec(`kernel colsum<R = 4, C = 4>
(x: f32[n, C], y: f32[R, C], steps: i32[1])
grid (g in 1) {
  let acc = zeros(R, C)
  let count = 0
  for t in tiles(n, R) {
    let r = rows(t, R)
    acc = acc + load x[r, :] where r < n
    count = count + 1
  }
  store y[rows(0, R), :] = acc
  store steps[0] = count
}`),
  branch: spec(`kernel branch<B = 4>
(x: f32[B], y: f32[B], mode: i32)
grid (g in 1) {
  let i = cols(0, B)
  let X = load x[i]
  let s = X
  if mode > 0 { s = X * 2.0 } else { s = X - 1.0 }
  store y[i] = s
}`),
  early: spec(`kernel early<B = 4>
(x: f32[n], y: f32[n], lim: i32)
grid (p in tiles(n, B)) {
  if p * B >= lim { return }
  let i = cols(p, B)
  store y[i] = (load x[i] where i < n) * 2.0 where i < n
}`),
  shift: spec(`kernel shift<B = 4>
(x: f32[n], y: f32[n])
grid (p in tiles(n, B)) {
  let i = cols(p, B)
  store y[i] = load x[i + 1] where i < n
}`),
  halves: spec(`kernel halves<N = 4>
(x: f32[N], h: f16[N], b: bf16[N], t: i32[N])
grid (g in 1) {
  let i = cols(0, N)
  let X = load x[i]
  store h[i] = f16(X)
  store b[i] = bf16(X)
  store t[i] = i32(X)
}`),
};

function tiny(name: string): KernelIR[] {
  const diags = new Diagnostics();
  const irs = compileSourcesIR({ [path(name)]: SPECS_SRC[name] }, diags);
  if (diags.list.length) throw new Error(formatDiagnostics(diags.list));
  return irs;
}

const f32 = (shape: number[], data: number[]) => ({ dtype: "f32" as const, shape, data: Float64Array.from(data) });
const i32 = (shape: number[], data: number[]) => ({ dtype: "i32" as const, shape, data: Int32Array.from(data) });

function intdivCase(a: number[], b: number[]) {
  const out = { dtype: "i32" as const, shape: [8] };
  return {
    label: "intdiv",
    inputs: { a: i32([8], a), b: i32([8], b) },
    outputs: { q: out, r: out, s: out },
    expected: {},
    tolerance: { q: 0, r: 0, s: 0 },
  };
}

describe("tiny specs, exact values", () => {
  it("row sums and row maxima of a predicated tile", () => {
    const [ir] = tiny("rowsum");
    const n = 6; // not a multiple of the 4-row tile: the last program's rows 6, 7 are predicated off
    const x = Array.from({ length: n * 8 }, (_, i) => ((i * 7) % 11) - 5);
    const out = interpretCase(ir, { inputs: { x: f32([n, 8], x) }, outputs: { y: { dtype: "f32", shape: [n] }, z: { dtype: "f32", shape: [n] } } });
    const rowsOf = (r: number) => x.slice(r * 8, r * 8 + 8);
    expect([...out.y]).toEqual(Array.from({ length: n }, (_, r) => rowsOf(r).reduce((a, b) => a + b)));
    expect([...out.z]).toEqual(Array.from({ length: n }, (_, r) => Math.max(...rowsOf(r))));
  });

  // x / 0 = 0 is the IR's meaning as its constant folder (evalBinary) defines it; WGSL gives x.
  it("integer division truncates toward zero, % takes the dividend's sign, i32 wraps, x / 0 = x % 0 = 0", () => {
    const [ir] = tiny("intdiv");
    const c = intdivCase([-7, 7, -7, 7, 2147483647, -2147483648, 5, -5], [2, -2, -2, 2, 1, -1, 0, 0]);
    const out = interpretCase(ir, c);
    expect([...out.q]).toEqual([-3, -3, 3, 3, 2147483647, -2147483648, 0, 0]);
    expect([...out.r]).toEqual([-1, 1, -1, 1, 0, 0, 0, 0]);
    expect([...out.s]).toEqual([-5, 5, -9, 9, -2147483648, 2147483647, 5, -5]);
  });

  it("a predicated load gives its else value, and never reads the predicated-off indices", () => {
    const [ir] = tiny("padded");
    const y = new Float64Array(8).fill(NaN);
    // x has 5 elements: indices 5..7 are out of range, which is fine because they are not read.
    const stats = interpret(ir, { x: f32([5], [1, 2, 3, 4, 5]), y: { dtype: "f32", shape: [8], data: y } });
    expect([...y]).toEqual([1, 2, 3, 4, 5, -1.5, -1.5, -1.5]);
    expect(stats).toMatchObject({ dims: { n: 5 }, grid: [1], programs: 1 });
  });

  it("a loop carries a tile and a scalar across iterations", () => {
    const [ir] = tiny("colsum");
    const n = 10; // three 4-row tiles, the last one half predicated off
    const x = Array.from({ length: n * 4 }, (_, i) => i);
    const out = interpretCase(ir, { inputs: { x: f32([n, 4], x) }, outputs: { y: { dtype: "f32", shape: [4, 4] }, steps: { dtype: "i32", shape: [1] } } });
    const want = Array.from({ length: 16 }, (_, e) => {
      const [i, c] = [Math.floor(e / 4), e % 4];
      let s = 0;
      for (let r = i; r < n; r += 4) s += x[r * 4 + c];
      return s;
    });
    expect([...out.y]).toEqual(want);
    expect([...out.steps]).toEqual([3]);
  });

  it("an if runs one branch and yields its values", () => {
    const [ir] = tiny("branch");
    const x = f32([4], [1, -2, 3.5, 0]);
    const run = (mode: number) => [...interpretCase(ir, { inputs: { x, mode }, outputs: { y: { dtype: "f32", shape: [4] } } }).y];
    expect(run(1)).toEqual([2, -4, 7, 0]);
    expect(run(0)).toEqual([0, -3, 2.5, -1]);
  });

  it("an early return ends a program: its stores never happen", () => {
    const [ir] = tiny("early");
    const x = Array.from({ length: 11 }, (_, i) => i + 1);
    const out = interpretCase(ir, { inputs: { x: f32([11], x), lim: 5 }, outputs: { y: { dtype: "f32", shape: [11] } } });
    // programs p = 0, 1 (p * 4 < 5) store; p = 2 returns first, so y[8..10] stay NaN
    expect([...out.y]).toEqual([...x.slice(0, 8).map((v) => 2 * v), NaN, NaN, NaN]);
  });

  it("stores round to f16 and bf16 (nearest, ties to even) and convert to i32 toward zero", () => {
    const [ir] = tiny("halves");
    const x = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -2.75];
    const out = interpretCase(ir, {
      inputs: { x: f32([4], x) },
      outputs: { h: { dtype: "f16", shape: [4] }, b: { dtype: "bf16", shape: [4] }, t: { dtype: "i32", shape: [4] } },
    });
    expect([...out.h]).toEqual([1, 1 + 2 ** -9, Infinity, -2.75]);
    expect([...out.b]).toEqual([1, 1, 70144, -2.75]); // 70000 = 1.0681 * 2^16 → 137/128 * 2^16
    expect([...out.t]).toEqual([1, 1, 70000, -2]);
  });

  it("f16 and bf16 rounding match the reference's converter on random, tiny and huge values", () => {
    const rng = makeRng(freshSeed());
    const xs = Float32Array.from([...randn(2000, rng)].map((v, i) => v * 2 ** ((i % 60) - 30)));
    const h = roundToF16(xs);
    const b = roundToBf16(xs);
    for (let i = 0; i < xs.length; i++) {
      expect(roundF16(xs[i]), `f16(${xs[i]})`).toBe(h[i]);
      expect(roundBf16(xs[i]), `bf16(${xs[i]})`).toBe(b[i]);
    }
  });
});

// ---- errors ----------------------------------------------------------------------------------

describe("errors", () => {
  it("an out-of-range load names the kernel, tensor, index, program and spec line", () => {
    const [ir] = tiny("shift");
    const x = Array.from({ length: 8 }, (_, i) => i);
    const run = () => interpretCase(ir, { inputs: { x: f32([8], x) }, outputs: { y: { dtype: "f32", shape: [8] } } });
    expect(run).toThrow(
      "shift: out-of-range load from 'x': index [8] but 'x' has shape [8] (dimension 0: 8 is not in [0, 8)), " +
        "in program (p=1) at tile element (0, 3) at test/virtual/interp/shift.ts:7:16: `store y[i] = load x[i + 1] where i < n`",
    );
  });

  it("metadata that points past the keys is caught in mha_prefill, at the load of k", () => {
    const ir = findInstance(mha, "mha_prefill.f32.hd64.nocausal");
    const c = mhaPrefillCase(ir.params, { qLens: [20], kLens: [40], heads: 2 }, makeRng(freshSeed()));
    // cu_seqlens_k claims 50 keys; k holds 40. Program (0, 0, 0) reads key 40 in its second key tile.
    const inputs = { ...c.inputs, cu_seqlens_k: { dtype: "i32" as const, shape: [2], data: Int32Array.from([0, 50]) } };
    expect(() => interpretCase(ir, { ...c, inputs })).toThrow(
      /^mha_prefill\.f32\.hd64\.nocausal: out-of-range load from 'k': index \[40, 0, 0\] but 'k' has shape \[40, 2, 64\] \(dimension 0: 40 is not in \[0, 40\)\), in program \(m=0, h=0, b=0\) at tile element \(8, 0\) at kernels-src\/mha\.ts:\d+:\d+: `let K = load k\[k0 \+ kr, h, :\] where kr < k_len`$/,
    );
  });

  it("bad arguments fail with the WebGPU runtime's messages, word for word", () => {
    const ir = findInstance(mha, "mha_prefill.f32.hd64.causal");
    const c = mhaPrefillCase(ir.params, { qLens: [5, 9], kLens: [7, 9], heads: 2 }, makeRng(freshSeed()));
    const manifest = baseManifest(ir);
    const outputs = Object.fromEntries(Object.entries(c.outputs).map(([n, o]) => [n, { ...o, data: new Float64Array(o.shape.reduce((a, b) => a * b, 1)) }]));
    const good: InterpretArgs = { ...c.inputs, ...outputs } as InterpretArgs;
    const tensor = (dtype: string, shape: number[]) => ({ dtype, shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
    const variants: [string, Record<string, unknown>][] = [
      ["missing", { ...good, softmax_scale: undefined, lse: undefined }],
      ["unknown", { ...good, bias: tensor("f32", [3]) }],
      ["rank", { ...good, q: tensor("f32", [14, 128]) }],
      ["dim conflict", { ...good, k: tensor("f32", [16, 3, 64]) }],
      ["linear entry", { ...good, cu_seqlens_k: tensor("i32", [4]) }],
      ["constant entry", { ...good, v: tensor("f32", [16, 2, 32]) }],
      ["scalar", { ...good, max_seqlen_q: 1.5 }],
      ["dtype", { ...good, q: tensor("f16", [14, 2, 64]) }],
    ];
    // The runtime's tensors: a stand-in buffer that passes its size and usage checks.
    const onGpu = (args: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(args).map(([n, v]) =>
          [n, v !== null && typeof v === "object" && "shape" in v ? { ...(v as object), buffer: { size: 2 ** 40, usage: BufferUsage.STORAGE } } : v],
        ),
      );
    for (const [what, args] of variants) {
      const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
      let gpuMessage = "";
      try {
        bindArgs(manifest, onGpu(clean));
      } catch (e) {
        gpuMessage = (e as Error).message;
      }
      expect(gpuMessage, what).not.toBe("");
      expect(() => interpret(ir, clean as InterpretArgs), what).toThrow(gpuMessage);
    }
    // And the good arguments pass both.
    expect(() => bindArgs(manifest, onGpu(good))).not.toThrow();
    expect(interpret(ir, good).dims).toEqual({ tokens: 14, heads: 2, kv_tokens: 16, batch: 2 });
  });

  it("host data must hold values of the right length", () => {
    const [ir] = tiny("padded");
    const y = { dtype: "f32" as const, shape: [8], data: new Float64Array(8) };
    expect(() => interpret(ir, { x: { dtype: "f32", shape: [5], data: new Float64Array(4) }, y })).toThrow(
      "padded: argument 'x' (f32[5]) has 5 elements but its data has 4",
    );
    expect(() => interpret(ir, { x: { dtype: "f32", shape: [5], data: new Uint16Array(5) as never }, y })).toThrow(/f16\/bf16 bit patterns/);
  });
});

it("case inputs are never modified", () => {
  const ir = findInstance(mha, "mha_prefill.f32.hd64.causal");
  const c = mhaPrefillCase(ir.params, { qLens: [9], heads: 1 }, makeRng(freshSeed()));
  const before = Object.fromEntries(Object.entries(c.inputs).map(([n, x]) => [n, isTensor(x) ? Array.from(x.data) : x]));
  interpretCase(ir, c);
  expect(Object.fromEntries(Object.entries(c.inputs).map(([n, x]) => [n, isTensor(x) ? Array.from(x.data) : x]))).toEqual(before);
});
