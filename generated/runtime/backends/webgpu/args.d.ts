/// <reference types="@webgpu/types" />
import { type Bound, type TensorRules } from "../../args.js";
import type { DType, KernelManifest, TensorArg } from "../../manifest.js";
export { evalOrFail, showShape, showSymTop } from "../../args.js";
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
export type BoundArgs = Bound<TensorBinding, TensorArg>;
/** The WebGPU runtime's tensor arguments. */
export declare const gpuTensorRules: TensorRules<TensorBinding>;
/** Check `args` against `manifest` and infer its runtime dimensions; throws on any mismatch. */
export declare function bindArgs(manifest: KernelManifest, args: Record<string, unknown>): BoundArgs;
