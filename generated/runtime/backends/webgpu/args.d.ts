/// <reference types="@webgpu/types" />
import { type DType, type KernelManifest, type SymExpr, type TensorArg } from "../../manifest.js";
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
export type ArgsShape<A> = {
  [K in keyof A]: TensorBinding | number;
};
export interface BoundArgs {
  /** Runtime dimensions, inferred from tensor shapes. */
  dims: Record<string, number>;
  /** Scalar arguments by name. */
  scalars: Record<string, number>;
  /** Tensor arguments in manifest order. */
  tensors: {
    arg: TensorArg;
    value: TensorBinding;
  }[];
}
/** Check `args` against `manifest` and infer its runtime dimensions; throws on any mismatch. */
export declare function bindArgs(manifest: KernelManifest, args: Record<string, unknown>): BoundArgs;
/** Evaluate a SymExpr; a name without a value means the manifest itself is inconsistent. */
export declare function evalOrFail(
  e: SymExpr,
  env: Record<string, number>,
  fail: (m: string) => never,
  where: string,
): number;
/** showSym without the parentheses around a whole top-level expression: `batch + 1`. */
export declare function showSymTop(e: SymExpr): string;
export declare function showShape(shape: readonly unknown[]): string;
