// Checking the interpreter's arguments against a kernel and working out its runtime dimensions
// and grid, with the checker the GPU runtimes use (runtime/args.ts): a call that fails here fails
// there with the same message, and a spec debugged on the CPU launches unchanged on the GPU. Only
// what a host array cannot share with a GPU buffer differs (data length instead of buffer bytes).
import type { DType } from "../../runtime/manifest.ts";
import { bindTensorArgs, evalOrFail, showShape, showValue, type TensorRules } from "../../runtime/args.ts";
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

const isHostData = (d: unknown): d is HostData =>
  d instanceof Float64Array ||
  d instanceof Float32Array ||
  d instanceof Int32Array ||
  d instanceof Uint32Array ||
  Array.isArray(d);

/** A lowered kernel seen as the signature the shared checker reads (a manifest has the same). */
function signatureOf(ir: KernelIR) {
  return {
    name: ir.name,
    dims: ir.dims,
    scalars: ir.scalars,
    tensors: ir.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      access: t.written ? ("read_write" as const) : ("read" as const),
    })),
  };
}

/** Host arrays as tensor arguments: what a GPU runtime checks of a buffer's bytes, checked of `data`. */
const HOST_RULES: TensorRules<HostTensor> = {
  form: "{ dtype, shape: number[], data }",
  accepts: (v) => "data" in v,
  checkMemory({ arg, value, count }, fail) {
    if (!isHostData(value.data)) {
      fail(
        `argument '${arg.name}': data must be a Float64Array, Float32Array, Int32Array, Uint32Array or number[] of values, got ${showValue(value.data)}` +
          ((value.data as unknown) instanceof Uint16Array ? " (f16/bf16 bit patterns? decode them to values first)" : ""),
      );
    }
    if (value.data.length !== count) {
      fail(
        `argument '${arg.name}' (${arg.dtype}${showShape(value.shape)}) has ${count} elements but its data has ${value.data.length}`,
      );
    }
  },
  // The interpreter copies tensors in and out, so aliased host arrays would silently diverge.
  conflict: (a, b) => (a.value.data === b.value.data ? "share one buffer" : undefined),
};

/** Check `args` against `ir`, infer its runtime dimensions and evaluate its grid; throws on any mismatch. */
export function bindArgs(ir: KernelIR, args: Record<string, unknown>): Bound {
  const bound = bindTensorArgs(signatureOf(ir), args, HOST_RULES);
  // The uniform block holds a scalar in its dtype (an f32 argument is rounded to f32).
  const scalars: Record<string, number> = {};
  for (const s of ir.scalars) scalars[s.name] = toDtype(bound.scalars[s.name], s.dtype);

  const tensors = bound.tensors.map(({ value: host }, i): BoundTensor => {
    const param = ir.tensors[i];
    const count = host.shape.reduce((a, b) => a * b, 1);
    const values = new Float64Array(count);
    for (let k = 0; k < count; k++) values[k] = toDtype(host.data[k], param.dtype);
    const strides = host.shape.map((_, d) => host.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    return {
      param,
      host,
      shape: [...host.shape],
      strides,
      values,
      stored: param.written ? new Uint8Array(count) : undefined,
    };
  });

  // Any number of axes in spec order (the GPU runtimes pad to 3 with evalGrid; the CPU needs none).
  const fail = (msg: string): never => {
    throw new Error(`${ir.name}: ${msg}`);
  };
  const env = { ...bound.dims, ...scalars };
  const grid = ir.grid.map((g) => evalOrFail(g.extent, env, fail, `grid axis ${g.name}`));
  if (!grid.every((n) => Number.isInteger(n) && n >= 0)) fail(`grid ${showShape(grid)} is not a list of non-negative integers`);
  return { dims: bound.dims, scalars, tensors, grid };
}
