/// <reference types="@webgpu/types" />
import {
  evalSym,
  solveLinear,
  showSym,
  type DType,
  type KernelManifest,
  type SymExpr,
  type TensorArg,
} from "../../manifest.ts";
import { BufferUsage } from "./constants.ts";
import { elementBytes, elementCount } from "./dtype.ts";

// Checking launch arguments against a manifest and working out the runtime dimensions. Every
// error names the kernel and the argument and says what was expected and what was given, since
// these are the errors people hit most when wiring kernels into a model.

/** A tensor argument: a GPU buffer holding a row-major, contiguous array of this shape. */
export interface TensorBinding {
  buffer: GPUBuffer;
  shape: readonly number[];
  /** Optional; when given (createTensor's tensors carry it) it must match the kernel's dtype. */
  dtype?: DType;
}

/** Arguments of a kernel: tensors and scalars by name. */
export type KernelArgs = Record<string, TensorBinding | number>;

/** Constraint that lets generated code type each kernel's arguments with an interface. */
export type ArgsShape<A> = { [K in keyof A]: TensorBinding | number };

export interface BoundArgs {
  /** Runtime dimensions, inferred from tensor shapes. */
  dims: Record<string, number>;
  /** Scalar arguments by name. */
  scalars: Record<string, number>;
  /** Tensor arguments in manifest order. */
  tensors: { arg: TensorArg; value: TensorBinding }[];
}

const INT_RANGE = { i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1] } as const;

/** Check `args` against `manifest` and infer its runtime dimensions; throws on any mismatch. */
export function bindArgs(manifest: KernelManifest, args: Record<string, unknown>): BoundArgs {
  const fail = (msg: string): never => {
    throw new Error(`${manifest.name}: ${msg}`);
  };
  if (typeof args !== "object" || args === null) fail(`arguments must be an object, got ${String(args)}`);

  // Presence first, all at once: a forgotten argument is easier to fix seeing the whole list.
  const names = [...manifest.tensors.map((t) => t.name), ...manifest.scalars.map((s) => s.name)];
  const missing = names.filter((n) => args[n] === undefined);
  if (missing.length) {
    fail(
      `missing argument${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`,
    );
  }
  const unknown = Object.keys(args).filter((n) => !names.includes(n));
  if (unknown.length) {
    fail(
      `unknown argument${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`,
    );
  }

  const scalars: Record<string, number> = {};
  for (const s of manifest.scalars) {
    const v = args[s.name];
    if (typeof v !== "number" || !Number.isFinite(v))
      fail(`scalar argument '${s.name}' (${s.dtype}) must be a finite number, got ${show(v)}`);
    const n = v as number;
    if (s.dtype !== "f32") {
      const [lo, hi] = INT_RANGE[s.dtype];
      if (!Number.isInteger(n) || n < lo || n > hi)
        fail(`scalar argument '${s.name}' must be a ${s.dtype}, got ${n}`);
    }
    scalars[s.name] = n;
  }

  // Pass 1: shape well-formed, rank right, and each bare-symbol entry defines (or must agree
  // with) a runtime dimension.
  const tensors: BoundArgs["tensors"] = [];
  const dims: Record<string, number> = {};
  const dimSource: Record<string, string> = {};
  for (const t of manifest.tensors) {
    const value = args[t.name] as TensorBinding;
    if (typeof value !== "object" || value === null || !("buffer" in value) || !Array.isArray(value.shape)) {
      fail(`argument '${t.name}' must be { buffer: GPUBuffer, shape: number[] }, got ${show(value)}`);
    }
    const shape = value.shape;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(
        `argument '${t.name}' has shape ${showShape(shape)}, which is not a list of non-negative integers`,
      );
    }
    if (shape.length !== t.shape.length) {
      fail(
        `argument '${t.name}' has shape ${showShape(shape)} (rank ${shape.length}) but the kernel expects ` +
          `${showExpected(t.shape)} (rank ${t.shape.length})`,
      );
    }
    t.shape.forEach((e, i) => {
      if (typeof e !== "string" || !manifest.dims.includes(e)) return;
      if (dims[e] === undefined) {
        dims[e] = shape[i];
        dimSource[e] = t.name;
      } else if (dims[e] !== shape[i]) {
        fail(
          `argument '${t.name}' has shape ${showShape(shape)} but the kernel expects ${showExpected(t.shape)}, ` +
            `and ${e} = ${dims[e]} from argument '${dimSource[e]}'`,
        );
      }
    });
    tensors.push({ arg: t, value });
  }
  // A dimension seen only inside an expression (cu_seqlens: i32[batch + 1]) is solved from it.
  for (const t of tensors) {
    t.arg.shape.forEach((e, i) => {
      const solved = solveLinear(e, t.value.shape[i]);
      if (solved && dims[solved.name] === undefined && manifest.dims.includes(solved.name)) {
        dims[solved.name] = solved.value;
        dimSource[solved.name] = t.arg.name;
      }
    });
  }
  for (const d of manifest.dims) {
    if (dims[d] === undefined)
      fail(`bad manifest: runtime dimension '${d}' cannot be inferred from any tensor shape`);
  }

  // Pass 2: now that all dims are known, every entry (expressions included) must evaluate to
  // the given size.
  const env = { ...dims, ...scalars };
  for (const { arg: t, value } of tensors) {
    const expected = t.shape.map((e) => evalOrFail(e, env, fail, `shape of '${t.name}'`));
    if (expected.some((n, i) => n !== value.shape[i])) {
      const symbolic = t.shape.some((e) => typeof e !== "number");
      fail(
        `argument '${t.name}' has shape ${showShape(value.shape)} but the kernel expects ${showExpected(t.shape)}` +
          (symbolic ? `, i.e. ${showShape(expected)} with ${showEnv(t.shape, env)}` : ""),
      );
    }
    if (value.dtype !== undefined && value.dtype !== t.dtype) {
      fail(`argument '${t.name}' is ${value.dtype} but the kernel expects ${t.dtype}`);
    }
    const need = elementCount(value.shape) * elementBytes(t.dtype);
    const buf = value.buffer as Partial<GPUBuffer>;
    if (typeof buf?.size !== "number")
      fail(`argument '${t.name}': buffer is not a GPUBuffer, got ${show(value.buffer)}`);
    if (buf.size! < need) {
      fail(
        `argument '${t.name}' (${t.dtype}${showShape(value.shape)}) needs a buffer of at least ${need} bytes ` +
          `but its buffer has ${buf.size} bytes`,
      );
    }
    if (typeof buf.usage === "number" && !(buf.usage & BufferUsage.STORAGE)) {
      fail(`argument '${t.name}': buffer was not created with STORAGE usage`);
    }
  }

  // WebGPU rejects a buffer bound twice in one dispatch when either binding is writable; say
  // which arguments alias instead of leaving it to a device validation error.
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const [a, b] = [tensors[i], tensors[j]];
      if (
        a.value.buffer === b.value.buffer &&
        (a.arg.access === "read_write" || b.arg.access === "read_write")
      ) {
        fail(
          `arguments '${a.arg.name}' and '${b.arg.name}' share one buffer, but '${(a.arg.access === "read_write" ? a : b).arg.name}' is written`,
        );
      }
    }
  }
  return { dims, scalars, tensors };
}

/** Evaluate a SymExpr; a name without a value means the manifest itself is inconsistent. */
export function evalOrFail(
  e: SymExpr,
  env: Record<string, number>,
  fail: (m: string) => never,
  where: string,
): number {
  try {
    return evalSym(e, env);
  } catch (err) {
    return fail(`bad manifest: ${where}: ${showSymTop(e)}: ${(err as Error).message}`);
  }
}

/** showSym without the parentheses around a whole top-level expression: `batch + 1`. */
export function showSymTop(e: SymExpr): string {
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

