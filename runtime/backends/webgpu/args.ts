/// <reference types="@webgpu/types" />
import {
  bindTensorArgs,
  showShape,
  showValue,
  type Bound,
  type TensorRules,
} from "../../args.ts";
import type { DType, KernelManifest, TensorArg } from "../../manifest.ts";
import { BufferUsage } from "./constants.ts";

// Checking launch arguments against a manifest and working out the runtime dimensions. The
// host-independent rules and messages live in runtime/args.ts (shared with the CUDA runtime);
// what is WebGPU's own is below: a tensor is a GPUBuffer, big enough, with STORAGE usage, and a
// buffer may not be bound twice in one dispatch when either binding is writable.

export { evalOrFail, showShape, showSymTop } from "../../args.ts";

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

export type BoundArgs = Bound<TensorBinding, TensorArg>;

/** The WebGPU runtime's tensor arguments. */
export const gpuTensorRules: TensorRules<TensorBinding> = {
  form: "{ buffer: GPUBuffer, shape: number[] }",
  accepts: (v) => "buffer" in v,
  checkMemory({ arg, value, bytes }, fail) {
    const buf = value.buffer as Partial<GPUBuffer>;
    if (typeof buf?.size !== "number") fail(`argument '${arg.name}': buffer is not a GPUBuffer, got ${showValue(value.buffer)}`);
    if (buf.size! < bytes) {
      fail(
        `argument '${arg.name}' (${arg.dtype}${showShape(value.shape)}) needs a buffer of at least ${bytes} bytes ` +
          `but its buffer has ${buf.size} bytes`,
      );
    }
    if (typeof buf.usage === "number" && !(buf.usage & BufferUsage.STORAGE)) {
      fail(`argument '${arg.name}': buffer was not created with STORAGE usage`);
    }
  },
  // WebGPU rejects a buffer bound twice in one dispatch when either binding is writable; say
  // which arguments alias instead of leaving it to a device validation error.
  conflict: (a, b) => (a.value.buffer === b.value.buffer ? "share one buffer" : undefined),
};

/** Check `args` against `manifest` and infer its runtime dimensions; throws on any mismatch. */
export function bindArgs(manifest: KernelManifest, args: Record<string, unknown>): BoundArgs {
  return bindTensorArgs(manifest, args, gpuTensorRules);
}
