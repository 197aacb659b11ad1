// A CPU interpreter of the tile IR, like Triton's interpreter mode: any compiled kernel instance
// runs on the host with the same arguments as on the GPU. Two uses: debugging a spec without a
// GPU (an out-of-range access names the tensor, index, program and spec line instead of
// reading garbage), and a second check that lowering to WGSL kept the IR's meaning, since both
// run the same final KernelIR (compileInstance's output, after every pass).
//
// Semantics in one place (details beside each piece):
// - a tile is a dense row-major array of its type's shape; size-1 axes broadcast (tile.ts);
// - values are rounded to their dtype after every op: f32 via Math.fround, f16/bf16 to nearest
//   even, i32/u32 wrap, integer division truncates and gives 0 on division by zero (numeric.ts);
// - dot and row sums accumulate in float64 and round once (accumulate.ts);
// - loads and stores skip predicated-off elements and reject enabled out-of-range ones (access.ts);
// - the grid runs program by program, axis 0 fastest (exec.ts);
// - arguments are checked with the WebGPU runtime's rules and messages (args.ts).
import type { DType } from "../../runtime/manifest.ts";
import type { KernelIR } from "../ir/ir.ts";
import { bindArgs, type HostTensor, type InterpretArgs } from "./args.ts";
import { type LoopTrace, runGrid } from "./exec.ts";

export type { HostData, HostTensor, InterpretArgs } from "./args.ts";
export { compileIR, compileSourcesIR, findInstance, type CompileIROptions } from "./compile.ts";
export { roundBf16, roundF16 } from "./numeric.ts";
export type { LoopTrace } from "./exec.ts";

export interface InterpretStats {
  /** Runtime dimensions inferred from the tensor shapes. */
  dims: Record<string, number>;
  /** Extent of each grid axis, in spec order. */
  grid: number[];
  /** Programs run (the product of the grid). */
  programs: number;
  ms: number;
}

/**
 * Run `ir` on the CPU. Tensor arguments hold VALUES (f16/bf16 as their numeric values). Every
 * element a store reaches is written back into its tensor's `data` in place once all programs
 * ran (converted to the tensor's dtype first, as a GPU buffer would hold it). Throws, naming the
 * kernel, on bad arguments (same messages as the WebGPU runtime) and on out-of-range accesses.
 */
export function interpret(ir: KernelIR, args: InterpretArgs, opts: { trace?: LoopTrace } = {}): InterpretStats {
  const t0 = performance.now();
  const bound = bindArgs(ir, args);
  const programs = runGrid(ir, bound, opts.trace);
  // Tensors are copied in by bindArgs, so programs read what earlier programs stored exactly as
  // on a GPU buffer. Only the elements some store reached go back: the rest keep the caller's
  // values untouched (a NaN poison stays NaN even in an i32 output).
  for (const t of bound.tensors) {
    if (!t.stored) continue;
    const dst = t.host.data;
    for (let i = 0; i < t.values.length; i++) if (t.stored[i]) dst[i] = t.values[i];
  }
  return { dims: bound.dims, grid: bound.grid, programs, ms: performance.now() - t0 };
}

/** The shape of a test-harness case (test/harness/case.ts) that the interpreter needs. */
export interface InterpretCase {
  inputs: Record<string, { dtype?: DType; shape: readonly number[]; data: ArrayLike<number> } | number>;
  /** Outputs start as NaN, or as `data` for tensors the kernel updates in place (a KV pool). */
  outputs: Record<string, { dtype: DType; shape: readonly number[]; data?: ArrayLike<number> }>;
}

/**
 * Run a harness-shaped case: outputs start as NaN (so an element the kernel never writes stays
 * NaN and fails any comparison) unless the case gives their initial `data`, and come back as
 * Float64Arrays by name, with the run's stats (for `flashtile run --interpret`'s report). The
 * case's arrays are never modified.
 */
export function runInterpreted(ir: KernelIR, c: InterpretCase): { outputs: Record<string, Float64Array>; stats: InterpretStats } {
  const args: InterpretArgs = {};
  for (const [name, x] of Object.entries(c.inputs)) {
    // Copy so the case's arrays are never written, whatever the kernel stores to.
    args[name] = typeof x === "number" ? x : { dtype: x.dtype, shape: x.shape, data: Float64Array.from(x.data) };
  }
  const outputs: Record<string, Float64Array> = {};
  for (const [name, o] of Object.entries(c.outputs)) {
    const data = o.data ? Float64Array.from(o.data) : new Float64Array(o.shape.reduce((a, b) => a * b, 1)).fill(NaN);
    outputs[name] = data;
    args[name] = { dtype: o.dtype, shape: o.shape, data } satisfies HostTensor;
  }
  const stats = interpret(ir, args);
  return { outputs, stats };
}

/** runInterpreted's outputs alone: what a test compares with its reference. */
export function interpretCase(ir: KernelIR, c: InterpretCase): Record<string, Float64Array> {
  return runInterpreted(ir, c).outputs;
}
