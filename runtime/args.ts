import { bytesOfName } from "./dtype.ts";
import { dimInferable, evalSym, meetsBound, type ScalarBoundSpec, showSym, solveLinear, type SymExpr } from "./manifest.ts";

// Checking launch arguments against a kernel's signature and working out its runtime dimensions:
// the part every runtime shares (WebGPU, CUDA; the tile-IR interpreter could too). What differs
// per host is only what a tensor argument holds (a GPUBuffer, a device pointer, a host array):
// each runtime passes a `TensorRules` for that. Every error names the kernel and the argument and
// says what was expected and what was given, since these are the errors people hit most when
// wiring kernels into a model; a call that fails on one runtime fails on the others with the same
// message. Imports only manifest.ts, so it bundles anywhere (browser, Node, generated package).

/** What the checker needs of a kernel: a KernelManifest has it, so does a lowered kernel. */
export interface KernelSignature {
  name: string;
  tensors: readonly SignatureTensor[];
  scalars: readonly { name: string; dtype: string; bounds?: readonly ScalarBoundSpec[] }[];
  dims: readonly string[];
}

export interface SignatureTensor {
  name: string;
  dtype: string;
  shape: readonly SymExpr[];
  /** "read_write" for tensors the kernel stores to. */
  access: "read" | "read_write";
}

/** The host-independent part of every tensor argument. */
export interface TensorLike {
  shape: readonly number[];
  /** Optional; when given it must match the kernel's dtype. */
  dtype?: string;
}

/** How one runtime's tensor arguments look and what it checks about their memory. */
export interface TensorRules<T extends TensorLike> {
  /** The form of a tensor argument, for messages: `{ buffer: GPUBuffer, shape: number[] }`. */
  form: string;
  /** Whether object `v` has that form (its shape is checked separately). */
  accepts(v: object): boolean;
  /**
   * Host checks once shape and dtype are right: the memory behind `value` holds `bytes` bytes
   * (`count` elements of the kernel's dtype), the buffer is usable, ... Call `fail` to refuse.
   */
  checkMemory(t: { arg: SignatureTensor; value: T; count: number; bytes: number }, fail: (msg: string) => never): void;
  /**
   * Why tensors `a` and `b` must not be passed together when either is written, as a phrase
   * ("share one buffer"), or undefined when they may.
   */
  conflict(a: { value: T; bytes: number }, b: { value: T; bytes: number }): string | undefined;
}

export interface Bound<T, A extends SignatureTensor = SignatureTensor> {
  /** Runtime dimensions, inferred from tensor shapes. */
  dims: Record<string, number>;
  /** Scalar arguments by name. */
  scalars: Record<string, number>;
  /** Tensor arguments in signature order. */
  tensors: { arg: A; value: T }[];
}


const INT_RANGE: Record<string, readonly [number, number]> = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1],
};

/** Check `args` against `sig` and infer its runtime dimensions; throws on any mismatch. */
export function bindTensorArgs<T extends TensorLike, S extends KernelSignature>(
  sig: S,
  args: Record<string, unknown>,
  rules: TensorRules<T>,
): Bound<T, S["tensors"][number]> {
  const fail = (msg: string): never => {
    throw new Error(`${sig.name}: ${msg}`);
  };
  if (typeof args !== "object" || args === null) fail(`arguments must be an object, got ${String(args)}`);

  // Presence first, all at once: a forgotten argument is easier to fix seeing the whole list.
  const names = [...sig.tensors.map((t) => t.name), ...sig.scalars.map((s) => s.name)];
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
  for (const s of sig.scalars) {
    const v = args[s.name];
    if (typeof v !== "number" || !Number.isFinite(v))
      fail(`scalar argument '${s.name}' (${s.dtype}) must be a finite number, got ${showValue(v)}`);
    const n = v as number;
    const range = INT_RANGE[s.dtype];
    if (range && (!Number.isInteger(n) || n < range[0] || n > range[1]))
      fail(`scalar argument '${s.name}' must be a ${s.dtype}, got ${n}`);
    // The spec's `require` on this argument: the compiled code may rely on it (a positive scale).
    const broken = s.bounds?.find((b) => !meetsBound(n, b));
    if (broken) {
      fail(`scalar argument '${s.name}' must be ${broken.op} ${broken.value}, got ${n}${broken.message ? ` (${broken.message})` : ""}`);
    }
    scalars[s.name] = n;
  }

  // Pass 1: shape well-formed, rank right, and each bare-symbol entry defines (or must agree
  // with) a runtime dimension.
  const tensors: Bound<T, S["tensors"][number]>["tensors"] = [];
  const dims: Record<string, number> = {};
  const dimSource: Record<string, string> = {};
  for (const t of sig.tensors) {
    const value = args[t.name] as T;
    if (typeof value !== "object" || value === null || !rules.accepts(value) || !Array.isArray(value.shape)) {
      fail(`argument '${t.name}' must be ${rules.form}, got ${showValue(value)}`);
    }
    const shape = value.shape;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`argument '${t.name}' has shape ${showShape(shape)}, which is not a list of non-negative integers`);
    }
    if (shape.length !== t.shape.length) {
      fail(
        `argument '${t.name}' has shape ${showShape(shape)} (rank ${shape.length}) but the kernel expects ` +
          `${showExpected(t.shape)} (rank ${t.shape.length})`,
      );
    }
    t.shape.forEach((e, i) => {
      if (typeof e !== "string" || !sig.dims.includes(e)) return;
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
      if (solved && dims[solved.name] === undefined && sig.dims.includes(solved.name)) {
        dims[solved.name] = solved.value;
        dimSource[solved.name] = t.arg.name;
      }
    });
  }
  for (const d of sig.dims) {
    if (dims[d] === undefined) fail(`bad manifest: runtime dimension '${d}' cannot be inferred from any tensor shape`);
  }

  // Pass 2: now that all dims are known, every entry (expressions included) must evaluate to
  // the given size; then the dtype, then what the host checks of the memory.
  const env = { ...dims, ...scalars };
  const sizes: number[] = [];
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
    const count = value.shape.reduce((a, b) => a * b, 1);
    const bytes = count * bytesOfName(t.dtype);
    rules.checkMemory({ arg: t, value, count, bytes }, fail);
    sizes.push(bytes);
  }

  // Two tensors over the same memory where one is written is almost always a wiring bug (and
  // WebGPU refuses a buffer bound twice when either binding is writable): say which ones.
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const [a, b] = [tensors[i], tensors[j]];
      if (a.arg.access !== "read_write" && b.arg.access !== "read_write") continue;
      const why = rules.conflict({ value: a.value, bytes: sizes[i] }, { value: b.value, bytes: sizes[j] });
      if (why) {
        fail(
          `arguments '${a.arg.name}' and '${b.arg.name}' ${why}, but '${(a.arg.access === "read_write" ? a : b).arg.name}' is written`,
        );
      }
    }
  }
  return { dims, scalars, tensors };
}

export type Grid = [number, number, number];

/**
 * The launch grid for bound arguments, padded to 3 axes; each axis must be a non-negative
 * integer. Device limits are the caller's to check (`checkGridLimit`).
 */
export function evalGrid(
  m: { name: string; grid: readonly SymExpr[]; gridAxes: readonly string[] },
  bound: { dims: Record<string, number>; scalars: Record<string, number> },
): Grid {
  const fail = (msg: string): never => {
    throw new Error(`${m.name}: ${msg}`);
  };
  const env = { ...bound.dims, ...bound.scalars };
  const grid: Grid = [1, 1, 1];
  m.grid.forEach((e, i) => (grid[i] = evalOrFail(e, env, fail, `grid axis ${m.gridAxes[i] ?? i}`)));
  if (!grid.every((n) => Number.isInteger(n) && n >= 0)) fail(`grid ${showShape(grid)} is not a list of non-negative integers`);
  return grid;
}

/** Throw if an axis of `grid` exceeds `max[axis]`; `unit` and `limitName(axis)` word the message. */
export function checkGridLimit(
  m: { name: string; gridAxes: readonly string[] },
  grid: Grid,
  max: readonly number[],
  unit: string,
  limitName: (axis: number) => string,
): void {
  grid.forEach((n, i) => {
    if (n > max[i]) {
      const axis = m.gridAxes[i] ?? "xyz"[i];
      throw new Error(
        `${m.name}: grid ${showShape(grid)} is too large: axis '${axis}' has ${n} ${unit} but ${limitName(i)} is ${max[i]}`,
      );
    }
  });
}

/**
 * Load-time checks of a manifest's signature that every runtime needs: unique names, inferable
 * dims, shapes and grid that mention only dims and scalars, 1 to 3 grid axes, and a uniform
 * block (WGSL) or parameter struct (CUDA) whose 4-byte fields fit and name a dim or scalar.
 * `fail` gets the reason (callers prefix "bad manifest").
 */
export function checkSignature(
  m: KernelSignature & { grid: readonly SymExpr[] },
  uniforms: { size: number; fields: readonly { name: string; offset: number; from: "dim" | "scalar" }[] },
  what: { uniforms: string; runtime: string },
  fail: (msg: string) => never,
): void {
  const names = [...m.tensors.map((t) => t.name), ...m.scalars.map((s) => s.name), ...m.dims];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`name '${dup}' is used twice among tensors, scalars and dims`);
  for (const d of m.dims) {
    if (!dimInferable({ tensors: m.tensors.map((t) => ({ shape: [...t.shape] })) }, d))
      fail(`runtime dimension '${d}' cannot be inferred from any tensor shape`);
  }
  const known = new Set([...m.dims, ...m.scalars.map((s) => s.name)]);
  const checkNames = (e: SymExpr, where: string): void => {
    if (typeof e === "string" && !known.has(e)) fail(`${where} mentions '${e}', which is neither a dim nor a scalar`);
    if (typeof e === "object") e.args.forEach((a) => checkNames(a, where));
  };
  m.tensors.forEach((t) => t.shape.forEach((e) => checkNames(e, `shape of '${t.name}'`)));
  m.grid.forEach((e) => checkNames(e, "grid"));
  if (m.grid.length < 1 || m.grid.length > 3) fail(`grid has ${m.grid.length} axes; ${what.runtime} launches 1 to 3`);

  const u = uniforms;
  if (!Number.isInteger(u.size) || u.size < 0 || u.size % 4 !== 0)
    fail(`${what.uniforms} size ${u.size} is not a multiple of 4`);
  for (const f of u.fields) {
    if (f.offset % 4 !== 0 || f.offset < 0 || f.offset + 4 > u.size) {
      fail(`${what.uniforms} field '${f.name}' at offset ${f.offset} does not fit a ${u.size}-byte block at 4-byte alignment`);
    }
    const pool = f.from === "dim" ? m.dims : m.scalars.map((s) => s.name);
    if (!pool.includes(f.name)) fail(`${what.uniforms} field '${f.name}' comes from a ${f.from} that the manifest does not declare`);
  }
  const offsets = u.fields.map((f) => f.offset);
  const dupO = offsets.find((o, i) => offsets.indexOf(o) !== i);
  if (dupO !== undefined) fail(`two ${what.uniforms} fields share offset ${dupO}`);
}

/** Evaluate a SymExpr; a name without a value means the manifest itself is inconsistent. */
export function evalOrFail(e: SymExpr, env: Record<string, number>, fail: (m: string) => never, where: string): number {
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

/** An expected shape as people write it: `[batch + 1, HEAD_DIM]`. */
export function showExpected(shape: readonly SymExpr[]): string {
  return `[${shape.map(showSymTop).join(", ")}]`;
}

export function showShape(shape: readonly unknown[]): string {
  return `[${shape.map(String).join(", ")}]`;
}

/** "rows = 3, cols = 4" for the names an expected shape mentions. */
export function showEnv(shape: readonly SymExpr[], env: Record<string, number>): string {
  const names = new Set<string>();
  const walk = (e: SymExpr): void => {
    if (typeof e === "string") names.add(e);
    else if (typeof e === "object") e.args.forEach(walk);
  };
  shape.forEach(walk);
  return [...names].map((n) => `${n} = ${env[n]}`).join(", ");
}

/** A value in a message: primitives as themselves, objects by their tag (`[object Object]`). */
export function showValue(v: unknown): string {
  if (v === null || typeof v !== "object") return String(v);
  return Object.prototype.toString.call(v);
}
