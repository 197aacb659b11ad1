// Checking the interpreter's arguments against a kernel and working out its runtime dimensions
// and grid. The rules and the wording follow the WebGPU runtime's bindArgs
// (runtime/backends/webgpu/args.ts) so that a call that fails here fails there with the same
// message, and a spec debugged on the CPU launches unchanged on the GPU. Only what a host array
// cannot share with a GPU buffer differs (data length instead of buffer bytes).
import { evalSym, showSym, solveLinear, type DType, type SymExpr } from "../../runtime/manifest.ts";
import type { KernelIR, TensorParam } from "../ir/ir.ts";
import { toDtype } from "./numeric.ts";

/** Host array types whose elements are tensor VALUES (f16/bf16 values, never their bit patterns). */
export type HostData = Float64Array | Float32Array | Int32Array | Uint32Array | number[];

/** A tensor argument on the host: a row-major, contiguous array of values of this shape. */
export interface HostTensor {
  /** Optional, as for the WebGPU runtime's tensors; when given it must match the kernel's dtype. */
  dtype?: DType;
  shape: readonly number[];
  /** Read for inputs; for tensors the kernel stores to, written back in place after the run. */
  data: HostData;
}

export type InterpretArgs = Record<string, HostTensor | number>;

export interface BoundTensor {
  param: TensorParam;
  host: HostTensor;
  shape: number[];
  /** Row-major strides, in elements. */
  strides: number[];
  /** The tensor's contents, converted to its dtype: what a GPU buffer would hold. */
  values: Float64Array;
  /** For tensors the kernel writes: which elements a store reached (only those go back). */
  stored?: Uint8Array;
}

export interface Bound {
  dims: Record<string, number>;
  scalars: Record<string, number>;
  /** Tensor arguments in kernel order. */
  tensors: BoundTensor[];
  /** Extent of each grid axis, in spec order. */
  grid: number[];
}

const INT_RANGE = { i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1] } as const;

const isHostData = (d: unknown): d is HostData =>
  d instanceof Float64Array || d instanceof Float32Array || d instanceof Int32Array || d instanceof Uint32Array || Array.isArray(d);

/** Check `args` against `ir`, infer its runtime dimensions and evaluate its grid; throws on any mismatch. */
export function bindArgs(ir: KernelIR, args: Record<string, unknown>): Bound {
  const fail = (msg: string): never => {
    throw new Error(`${ir.name}: ${msg}`);
  };
  if (typeof args !== "object" || args === null) fail(`arguments must be an object, got ${String(args)}`);

  // Presence first, all at once: a forgotten argument is easier to fix seeing the whole list.
  const names = [...ir.tensors.map((t) => t.name), ...ir.scalars.map((s) => s.name)];
  const missing = names.filter((n) => args[n] === undefined);
  if (missing.length) {
    fail(`missing argument${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`);
  }
  const unknown = Object.keys(args).filter((n) => !names.includes(n));
  if (unknown.length) {
    fail(`unknown argument${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`);
  }

  const scalars: Record<string, number> = {};
  for (const s of ir.scalars) {
    const v = args[s.name];
    if (typeof v !== "number" || !Number.isFinite(v)) fail(`scalar argument '${s.name}' (${s.dtype}) must be a finite number, got ${show(v)}`);
    const n = v as number;
    if (s.dtype === "i32" || s.dtype === "u32") {
      const [lo, hi] = INT_RANGE[s.dtype];
      if (!Number.isInteger(n) || n < lo || n > hi) fail(`scalar argument '${s.name}' must be a ${s.dtype}, got ${n}`);
    }
    // The uniform block holds the scalar in its dtype (an f32 argument is rounded to f32).
    scalars[s.name] = toDtype(n, s.dtype);
  }

  // Pass 1: shape well-formed, rank right, and each bare-symbol entry defines (or must agree
  // with) a runtime dimension.
  const dims: Record<string, number> = {};
  const dimSource: Record<string, string> = {};
  const given: { param: TensorParam; host: HostTensor }[] = [];
  for (const t of ir.tensors) {
    const host = args[t.name] as HostTensor;
    if (typeof host !== "object" || host === null || !Array.isArray(host.shape) || !("data" in host)) {
      fail(`argument '${t.name}' must be { dtype, shape: number[], data }, got ${show(host)}`);
    }
    const shape = host.shape;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`argument '${t.name}' has shape ${showShape(shape)}, which is not a list of non-negative integers`);
    }
    if (shape.length !== t.shape.length) {
      fail(`argument '${t.name}' has shape ${showShape(shape)} (rank ${shape.length}) but the kernel expects ${showExpected(t.shape)} (rank ${t.shape.length})`);
    }
    t.shape.forEach((e, i) => {
      if (typeof e !== "string" || !ir.dims.includes(e)) return;
      if (dims[e] === undefined) {
        dims[e] = shape[i];
        dimSource[e] = t.name;
      } else if (dims[e] !== shape[i]) {
        fail(`argument '${t.name}' has shape ${showShape(shape)} but the kernel expects ${showExpected(t.shape)}, and ${e} = ${dims[e]} from argument '${dimSource[e]}'`);
      }
    });
    given.push({ param: t, host });
  }
  // A dimension seen only inside an expression (cu_seqlens: i32[batch + 1]) is solved from it.
  for (const { param, host } of given) {
    param.shape.forEach((e, i) => {
      const solved = solveLinear(e, host.shape[i]);
      if (solved && dims[solved.name] === undefined && ir.dims.includes(solved.name)) {
        dims[solved.name] = solved.value;
        dimSource[solved.name] = param.name;
      }
    });
  }
  for (const d of ir.dims) {
    if (dims[d] === undefined) fail(`bad manifest: runtime dimension '${d}' cannot be inferred from any tensor shape`);
  }

  // Pass 2: now that all dims are known, every entry (expressions included) must evaluate to
  // the given size; then the dtype and the data.
  const env = { ...dims, ...scalars };
  const tensors: BoundTensor[] = [];
  for (const { param: t, host } of given) {
    const expected = t.shape.map((e) => evalOrFail(e, env, fail, `shape of '${t.name}'`));
    if (expected.some((n, i) => n !== host.shape[i])) {
      const symbolic = t.shape.some((e) => typeof e !== "number");
      fail(
        `argument '${t.name}' has shape ${showShape(host.shape)} but the kernel expects ${showExpected(t.shape)}` +
          (symbolic ? `, i.e. ${showShape(expected)} with ${showEnv(t.shape, env)}` : ""),
      );
    }
    if (host.dtype !== undefined && host.dtype !== t.dtype) fail(`argument '${t.name}' is ${host.dtype} but the kernel expects ${t.dtype}`);
    if (!isHostData(host.data)) {
      fail(
        `argument '${t.name}': data must be a Float64Array, Float32Array, Int32Array, Uint32Array or number[] of values, got ${show(host.data)}` +
          ((host.data as unknown) instanceof Uint16Array ? " (f16/bf16 bit patterns? decode them to values first)" : ""),
      );
    }
    const count = host.shape.reduce((a, b) => a * b, 1);
    if (host.data.length !== count) {
      fail(`argument '${t.name}' (${t.dtype}${showShape(host.shape)}) has ${count} elements but its data has ${host.data.length}`);
    }
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = toDtype(host.data[i], t.dtype);
    const strides = host.shape.map((_, i) => host.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    tensors.push({ param: t, host, shape: [...host.shape], strides, values, stored: t.written ? new Uint8Array(count) : undefined });
  }

  // The runtime refuses a buffer bound twice when either binding is written; the interpreter
  // copies tensors in and out, so aliased host arrays would silently diverge: refuse them too.
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const [a, b] = [tensors[i], tensors[j]];
      if (a.host.data === b.host.data && (a.param.written || b.param.written)) {
        fail(`arguments '${a.param.name}' and '${b.param.name}' share one buffer, but '${(a.param.written ? a : b).param.name}' is written`);
      }
    }
  }

  const grid = ir.grid.map((g) => evalOrFail(g.extent, env, fail, `grid axis ${g.name}`));
  if (!grid.every((n) => Number.isInteger(n) && n >= 0)) fail(`grid ${showShape(grid)} is not a list of non-negative integers`);
  return { dims, scalars, tensors, grid };
}

function evalOrFail(e: SymExpr, env: Record<string, number>, fail: (m: string) => never, where: string): number {
  try {
    return evalSym(e, env);
  } catch (err) {
    return fail(`bad manifest: ${where}: ${showSymTop(e)}: ${(err as Error).message}`);
  }
}

/** showSym without the parentheses around a whole top-level expression: `batch + 1`. */
function showSymTop(e: SymExpr): string {
  const s = showSym(e);
  return typeof e === "object" && ["add", "sub", "mul", "div"].includes(e.op) ? s.slice(1, -1) : s;
}

function showExpected(shape: readonly SymExpr[]): string {
  return `[${shape.map(showSymTop).join(", ")}]`;
}

export function showShape(shape: readonly unknown[]): string {
  return `[${shape.map(String).join(", ")}]`;
}

/** "rows = 3, cols = 4" for the names an expected shape mentions. */
function showEnv(shape: readonly SymExpr[], env: Record<string, number>): string {
  const names = new Set<string>();
  const walk = (e: SymExpr): void => {
    if (typeof e === "string") names.add(e);
    else if (typeof e === "object") e.args.forEach(walk);
  };
  shape.forEach(walk);
  return [...names].map((n) => `${n} = ${env[n]}`).join(", ");
}

function show(v: unknown): string {
  if (v === null || typeof v !== "object") return String(v);
  return Object.prototype.toString.call(v);
}
