// `flashtile run <instance>`: run one kernel instance once, on WebGPU or (--interpret) on the CPU
// through the tile-IR interpreter, on inputs from a JSON file or from the built-in case of its
// kernel family; print each output's summary and, when a reference is known, its error.
import fs from "node:fs";
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { KernelIR } from "../ir/ir.ts";
import { compileAll } from "../pipeline.ts";
import { baseManifest } from "../backends/wgsl/index.ts";
import type { KernelManifest, DType } from "../../runtime/manifest.ts";
import type { Tensor } from "../../runtime/backends/webgpu/index.ts";

export interface RunOptions {
  instance: string;
  inputs: string[];
  interpret: boolean;
  /** JSON file: { inputs: { name: number | { dtype, shape, data } }, outputs: { name: { dtype, shape } } }. */
  casePath?: string;
  outPath?: string;
}

interface RunCase {
  label: string;
  inputs: Record<string, { dtype: DType; shape: number[]; data: ArrayLike<number> } | number>;
  outputs: Record<string, { dtype: DType; shape: number[]; data?: ArrayLike<number> }>;
  expected?: Record<string, ArrayLike<number>>;
}

function summary(x: ArrayLike<number>): string {
  let nan = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) nan++;
    else {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      if (Number.isFinite(v)) sum += v;
    }
  }
  return `${x.length} values, min ${lo.toPrecision(4)}, max ${hi.toPrecision(4)}, mean ${(sum / Math.max(1, x.length - nan)).toPrecision(4)}${nan ? `, ${nan} NaN (never written?)` : ""}`;
}

async function caseFor(opts: RunOptions, manifest: KernelManifest): Promise<RunCase> {
  if (opts.casePath) {
    const c = JSON.parse(fs.readFileSync(opts.casePath, "utf8")) as RunCase;
    return { ...c, label: opts.casePath };
  }
  // The built-in cases are the test harness's (random inputs, float64 reference).
  const { DEFAULT_CASES } = await import("../../test/harness/registry.ts");
  const { freshSeed, makeRng } = await import("../../test/reference/numeric.ts");
  const build = DEFAULT_CASES[manifest.kernel];
  if (!build) throw new Error(`no built-in inputs for kernel '${manifest.kernel}': pass --case inputs.json`);
  const seed = freshSeed();
  const c = build(manifest, makeRng(seed));
  return { ...c, label: `${c.label} (seed ${seed})` };
}

export async function runCommand(opts: RunOptions, diags: Diagnostics): Promise<number> {
  const irs = compileAll(opts.inputs, diags);
  if (diags.hasErrors()) return 1;
  const ir = irs.find((k) => k.name === opts.instance);
  if (!ir) {
    console.error(`error: no kernel instance '${opts.instance}'; instances: ${irs.map((k) => k.name).join(", ")}`);
    return 2;
  }
  const c = await caseFor(opts, baseManifest(ir));
  let outputs: Record<string, ArrayLike<number>>;
  let where: string;
  const t0 = performance.now();
  if (opts.interpret) {
    const { runInterpreted } = await import("../interp/index.ts");
    const r = runInterpreted(ir, c);
    outputs = r.outputs;
    where = `the tile-IR interpreter (${r.stats.programs} programs)`;
  } else {
    const { compileWgsl, baseManifest } = await import("../backends/wgsl/index.ts");
    const rt = await import("../../runtime/backends/webgpu/index.ts");
    const { device, info } = await rt.getDevice();
    const variants = [true, false].map((sg) => {
      const w = compileWgsl(ir, { subgroupReduce: sg }, `${ir.name}.wgsl`);
      return { manifest: { ...baseManifest(ir), wgsl: w.target }, code: w.code };
    });
    const m = rt.pickVariant(variants.map((v) => v.manifest), info);
    const k = await rt.loadKernel(device, info, m, variants.find((v) => v.manifest === m)!.code);
    const args: Record<string, Tensor | number> = {};
    for (const [n, x] of Object.entries(c.inputs)) args[n] = typeof x === "number" ? x : rt.createTensor(device, x.dtype, x.shape, x.data);
    for (const [n, o] of Object.entries(c.outputs)) {
      const t = rt.createTensor(device, o.dtype, o.shape, o.data);
      if (!o.data) rt.poison(device, t);
      args[n] = t;
    }
    k.launch(args);
    outputs = {};
    for (const n of Object.keys(c.outputs)) outputs[n] = await rt.readTensor(device, args[n] as Tensor);
    where = `WebGPU (${info.description || info.architecture || info.vendor})`;
  }
  console.log(`${ir.name} on ${where}, ${(performance.now() - t0).toFixed(0)} ms, inputs: ${c.label}`);
  let bad = false;
  for (const [n, x] of Object.entries(outputs)) {
    let line = `  ${n}: ${summary(x)}`;
    if (c.expected?.[n]) {
      const { relError } = await import("../../test/reference/numeric.ts");
      const e = relError(x, c.expected[n]);
      line += `; rel. error vs the float64 reference ${e.toExponential(2)}`;
      if (!(e < 2e-3)) bad = true;
    }
    console.log(line);
  }
  if (opts.outPath) fs.writeFileSync(opts.outPath, JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([n, x]) => [n, Array.from(x)]))));
  return bad ? 1 : 0;
}
