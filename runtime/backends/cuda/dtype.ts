import type { DType } from "../../manifest.ts";

// Element types of CUDA tensors: the manifest's (fp8 E4M3 included, see runtime/fp8.ts).
export type TensorDType = DType;
export { elementBytes, elementCount, tensorBytes } from "../../dtype.ts";
export * from "../../fp8.ts";
