// The tile IR of every kernel instance, straight from the pipeline, for the interpreter. This is
// compileKernels without the WGSL backend: the same frontend, instances and passes, so the
// interpreter runs exactly the IR the backends consume, and also instances no backend can
// emit yet (bf16 for WebGPU).
import path from "node:path";
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { KernelIR } from "../ir/ir.ts";
import { compileAll } from "../pipeline.ts";

export interface CompileIROptions {
  cwd?: string;
  /** Spec contents by path (relative to cwd or absolute), used instead of the disk. */
  sources?: Record<string, string>;
}

/** Final IR of every instance of every kernel in `inputs` (files or directories). */
export function compileIR(inputs: string[], diags: Diagnostics, opts: CompileIROptions = {}): KernelIR[] {
  const cwd = opts.cwd ?? process.cwd();
  const sources = opts.sources && new Map(Object.entries(opts.sources).map(([p, t]) => [path.resolve(cwd, p), t]));
  return compileAll(inputs, diags, { cwd, sources });
}

/** Compile spec sources given as text (path → contents), as compileSources does, to IR. */
export function compileSourcesIR(sources: Record<string, string>, diags: Diagnostics, cwd = process.cwd()): KernelIR[] {
  return compileIR(Object.keys(sources), diags, { cwd, sources });
}

/** The IR of the instance called `name` ("mha_prefill.f32.hd64.causal"), with the known names when missing. */
export function findInstance(irs: KernelIR[], name: string): KernelIR {
  const ir = irs.find((k) => k.name === name);
  if (!ir) throw new Error(`no kernel instance '${name}' (instances: ${irs.map((k) => k.name).join(", ") || "none"})`);
  return ir;
}
