// A kernel case: host inputs, the outputs to poison and read back, and the float64 reference
// they are compared with. Builders for each kernel family live beside this file; runners for
// each backend take a case and report the relative error of every output.
import type { DType } from "../../runtime/manifest.ts";

export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: ArrayLike<number>;
}

export interface KernelCase {
  /** Short description for tables and failure messages ("q=[1,7] k=[1,9] h=2"). */
  label: string;
  /** Tensor inputs with data, and scalar arguments. */
  inputs: Record<string, HostTensor | number>;
  /**
   * Output tensors, compared after the launch: poisoned with NaN before it, or, for tensors the
   * kernel updates in place (a KV pool), uploaded with `data`.
   */
  outputs: Record<string, { dtype: DType; shape: number[]; data?: ArrayLike<number> }>;
  expected: Record<string, ArrayLike<number>>;
  /** Largest acceptable ||out - ref|| / ||ref|| for each output. */
  tolerance: Record<string, number>;
}

/** Tolerances of DESIGN.md's testing conventions, by the dtype the kernel computes in. */
export function toleranceFor(dtype: DType): number {
  return dtype === "f32" ? 1e-5 : dtype === "f16" ? 2e-3 : 1e-2;
}

export function isTensor(x: HostTensor | number): x is HostTensor {
  return typeof x === "object";
}
