/// <reference types="@webgpu/types" />
export { getDevice, describeDevice, OPTIONAL_FEATURES } from "./device.js";
export type { DeviceHandle, DeviceInfo, DeviceLimits, DeviceOptions } from "./device.js";
export { loadKernel, pickVariant } from "./loader.js";
export { LoadedKernel } from "./launch.js";
export type { Grid, LaunchOptions } from "./launch.js";
export { bindArgs } from "./args.js";
export type { ArgsShape, BoundArgs, KernelArgs, TensorBinding } from "./args.js";
export { packUniforms } from "./uniforms.js";
export { unmetRequirements } from "./requirements.js";
export { createTensor, poison, readTensor } from "./buffers.js";
export type { HostArray, Tensor } from "./buffers.js";
export {
  bf16BitsToF32,
  decodeHalf,
  encodeHalf,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  roundToBf16,
  roundToF16,
} from "./half.js";
export { timestamp } from "./timing.js";
export type { Timing } from "./timing.js";
export { elementBytes } from "./dtype.js";
export { BufferUsage, MapMode, ShaderStage } from "./constants.js";
