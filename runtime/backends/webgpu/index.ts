// Public API of the WebGPU runtime backend: get a device, load kernels from manifests + WGSL,
// launch them, and move tensors between host and GPU. Works in browsers (navigator.gpu) and in
// Node (Dawn, loaded on demand by device.ts).

export { getDevice, describeDevice, OPTIONAL_FEATURES } from "./device.ts";
export type { DeviceHandle, DeviceInfo, DeviceLimits, DeviceOptions } from "./device.ts";
export { loadKernel, pickVariant } from "./loader.ts";
export { LoadedKernel } from "./launch.ts";
export type { Grid, LaunchOptions } from "./launch.ts";
export { bindArgs } from "./args.ts";
export type { ArgsShape, BoundArgs, KernelArgs, TensorBinding } from "./args.ts";
export { packUniforms } from "./uniforms.ts";
export { unmetRequirements } from "./requirements.ts";
export { createTensor, poison, readTensor } from "./buffers.ts";
export type { HostArray, Tensor } from "./buffers.ts";
export {
  bf16BitsToF32,
  decodeHalf,
  encodeHalf,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  roundToBf16,
  roundToF16,
} from "./half.ts";
export { timestamp } from "./timing.ts";
export type { Timing } from "./timing.ts";
export { elementBytes } from "./dtype.ts";
export { BufferUsage, MapMode, ShaderStage } from "./constants.ts";
