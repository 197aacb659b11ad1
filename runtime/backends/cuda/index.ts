// Public API of the CUDA runtime backend (Node only): get a device, load kernels from manifests +
// PTX, launch them with the same argument rules as the WebGPU backend, move tensors between host
// and device, time with events, and capture/replay CUDA graphs. The driver is reached through the
// flashtile_cuda addon (addon/), built by scripts/build-cuda-addon.sh; it needs no CUDA toolkit.

export { getCudaDevice, describeCudaDevice } from "./device.ts";
export type { CudaDevice, CudaDeviceOptions } from "./device.ts";
export { loadCudaAddon, addonPath, ADDON_BUILD_PATH, FuncAttribute } from "./native.ts";
export type { CudaAddon, CudaDeviceInfo, CaptureMode, NativeHandle, StreamArg } from "./native.ts";
export { loadKernel, loadKernelFor, chooseCudaBuild, checkDeviceLimits, normalizeImage } from "./loader.ts";
export type { LoadOptions } from "./loader.ts";
export {
  LoadedCudaKernel,
  bindCudaArgs,
  cudaGrid,
  cudaTensorRules,
  packParams,
  prepareLaunch,
  tensorPtr,
} from "./launch.ts";
export type {
  CudaArgsShape,
  CudaBoundArgs,
  CudaKernelArgs,
  CudaLaunchOptions,
  CudaTensorBinding,
  Grid,
  LaunchLimits,
  PreparedLaunch,
} from "./launch.ts";
export { checkCudaManifest } from "./manifest-check.ts";
export { TensorMapCache, tensorMapRequest } from "./tensor-map.ts";
export type { TensorMapEncoder, TensorMapRequest } from "./tensor-map.ts";
export { choosePtxArch, ptxEntryParamSizes } from "./ptx.ts";
export { DeviceBuffer, createTensor, poison, readTensor, writeTensor, POISON } from "./memory.ts";
export type { CudaHostArray, CudaTensor } from "./memory.ts";
export { CudaStream, createStream } from "./stream.ts";
export { captureGraph } from "./graph.ts";
export type { CaptureOptions, CapturedGraph } from "./graph.ts";
export { CudaEvent, timeEvents } from "./timing.ts";
export type { CudaTiming } from "./timing.ts";
export {
  E4M3_MAX,
  E4M3_NAN,
  decodeE4m3,
  e4m3BitsToF32,
  elementBytes,
  encodeE4m3,
  f32ToE4m3Bits,
  roundToE4m3,
  tensorBytes,
} from "./dtype.ts";
export type { TensorDType } from "./dtype.ts";
