import { gunzipSync } from "node:zlib";
import type { KernelManifest } from "../../manifest.ts";
import type { CudaDevice } from "./device.ts";
import { LoadedCudaKernel, prefixed, type CudaArgsShape, type CudaKernelArgs } from "./launch.ts";
import { checkCudaManifest } from "./manifest-check.ts";
import { FuncAttribute, type CudaDeviceInfo } from "./native.ts";
import { choosePtxArch, ptxEntryParamSizes } from "./ptx.ts";

// From manifest + PTX (or cubin) to a launchable kernel: check the manifest and the device's
// limits, load the module (the JIT's log is in the error when PTX does not compile), find the
// entry point, check its parameters against the manifest's ABI (one pointer per tensor, then the
// param struct), and opt in to more than 48 KiB of dynamic shared memory when the kernel needs it.

export interface LoadOptions {
  /** The architecture the code was built for ("sm_80"), recorded on the kernel for reports. */
  arch?: string;
}

/** Load `code` (PTX text or bytes, gzipped or not, or a cubin/fatbin) for `manifest` on `device`. */
export function loadKernel<Args extends CudaArgsShape<Args> = CudaKernelArgs>(
  device: CudaDevice,
  manifest: KernelManifest,
  image: string | Uint8Array,
  opts: LoadOptions = {},
): LoadedCudaKernel<Args> {
  const cuda = checkCudaManifest(manifest);
  const code = normalizeImage(image);
  checkDeviceLimits(manifest, device.info);
  // a pointer per tensor, the parameter struct, then a 128-byte CUtensorMap per TMA-copied tensor
  const expected = [...manifest.tensors.map(() => 8), cuda.uniforms.size, ...(cuda.tensorMaps ?? []).map(() => 128)];
  if (typeof code === "string") {
    // PTX: check the entry's parameters before the driver sees it (a clearer error, and it
    // covers drivers without cuFuncGetParamInfo).
    const sizes = ptxEntryParamSizes(code, cuda.entryPoint);
    if (sizes === undefined) throw new Error(`${manifest.name}: the PTX has no entry point '${cuda.entryPoint}'`);
    checkParams(manifest, cuda.entryPoint, sizes, expected);
  }

  const a = device.addon;
  let module;
  try {
    module = a.moduleLoad(code);
  } catch (e) {
    throw prefixed(manifest.name, e);
  }
  try {
    const fn = a.moduleGetFunction(module, cuda.entryPoint);
    const sizes = a.funcParamSizes(fn);
    if (sizes) checkParams(manifest, cuda.entryPoint, sizes, expected);

    const staticShared = a.funcGetAttribute(fn, FuncAttribute.SHARED_SIZE_BYTES);
    const optin = device.info.maxSharedMemoryPerBlockOptin;
    if (cuda.sharedBytes + staticShared > optin) {
      throw new Error(
        `${manifest.name}: needs ${cuda.sharedBytes} bytes of dynamic shared memory per block` +
          (staticShared ? ` (plus ${staticShared} static)` : "") +
          ` but ${device.info.name} allows at most ${optin} per block`,
      );
    }
    // Above the default 48 KiB a kernel must opt in, per function.
    if (cuda.sharedBytes + staticShared > device.info.maxSharedMemoryPerBlock) {
      a.funcSetAttribute(fn, FuncAttribute.MAX_DYNAMIC_SHARED_SIZE_BYTES, cuda.sharedBytes);
    }
    const threads = cuda.blockDim[0] * cuda.blockDim[1] * cuda.blockDim[2];
    const maxThreads = a.funcGetAttribute(fn, FuncAttribute.MAX_THREADS_PER_BLOCK);
    if (threads > maxThreads) {
      throw new Error(
        `${manifest.name}: blockDim [${cuda.blockDim.join(", ")}] has ${threads} threads but this kernel can run at most ` +
          `${maxThreads} per block on ${device.info.name} (registers: ${a.funcGetAttribute(fn, FuncAttribute.NUM_REGS)} per thread)`,
      );
    }
    return new LoadedCudaKernel<Args>(device, manifest, module, fn, opts.arch);
  } catch (e) {
    try {
      a.moduleUnload(module);
    } catch {
      // keep the first error
    }
    throw e instanceof Error && e.message.startsWith(`${manifest.name}: `) ? e : prefixed(manifest.name, e);
  }
}

/**
 * Pick and load the PTX that suits `device`, among one build's or among all of a kernel's builds
 * (its list in manifest.json: WGSL variants are passed over; a CUDA build per architecture, made
 * by a spec's `target cuda sm_80:` clause, carries that architecture's PTX alone). `readPtx(file)`
 * returns the contents of a file named in a build's `cuda.ptx` (text or bytes, gzipped or not),
 * e.g. `f => readFileSync(join(dir, f))`.
 */
export function loadKernelFor<Args extends CudaArgsShape<Args> = CudaKernelArgs>(
  device: CudaDevice,
  builds: KernelManifest | readonly KernelManifest[],
  readPtx: (file: string) => string | Uint8Array,
): LoadedCudaKernel<Args> {
  const { manifest, arch } = chooseCudaBuild(Array.isArray(builds) ? builds : [builds as KernelManifest], device.info);
  return loadKernel<Args>(device, manifest, readPtx(manifest.cuda!.ptx[arch]), { arch });
}

/** The CUDA build and PTX architecture to load on a device of this compute capability. */
export function chooseCudaBuild(
  builds: readonly KernelManifest[],
  info: Pick<CudaDeviceInfo, "computeCapabilityMajor" | "computeCapabilityMinor">,
): { manifest: KernelManifest; arch: string } {
  const cuda = builds.filter((m) => m.cuda);
  const name = cuda[0]?.name ?? builds[0]?.name ?? "kernel";
  if (!cuda.length) throw new Error(`${name}: no CUDA build`);
  const byArch = new Map<string, KernelManifest>();
  for (const m of cuda) {
    for (const arch of Object.keys(checkCudaManifest(m).ptx)) {
      if (byArch.has(arch)) throw new Error(`${name}: two CUDA builds ship PTX for ${arch}`);
      byArch.set(arch, m);
    }
  }
  let arch: string;
  try {
    arch = choosePtxArch([...byArch.keys()], info);
  } catch (e) {
    throw prefixed(name, e);
  }
  return { manifest: byArch.get(arch)!, arch };
}

/** Block size and shared memory against the device (before compiling anything). */
export function checkDeviceLimits(manifest: KernelManifest, info: CudaDeviceInfo): void {
  const cuda = manifest.cuda!;
  const b = cuda.blockDim;
  const threads = b[0] * b[1] * b[2];
  if (threads > info.maxThreadsPerBlock || b.some((n, i) => n > info.maxBlockDim[i])) {
    throw new Error(
      `${manifest.name}: blockDim [${b.join(", ")}] exceeds ${info.name}'s limits ` +
        `(${info.maxThreadsPerBlock} threads per block, at most [${info.maxBlockDim.join(", ")}])`,
    );
  }
  if (cuda.sharedBytes > info.maxSharedMemoryPerBlockOptin) {
    throw new Error(
      `${manifest.name}: needs ${cuda.sharedBytes} bytes of dynamic shared memory per block but ${info.name} ` +
        `allows at most ${info.maxSharedMemoryPerBlockOptin} per block`,
    );
  }
}

function checkParams(manifest: KernelManifest, entry: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length === expected.length && actual.every((n, i) => n === expected[i])) return;
  throw new Error(
    `${manifest.name}: bad manifest or kernel: '${entry}' takes parameters of [${actual.join(", ")}] bytes but the ` +
      `manifest describes [${expected.join(", ")}] (one 8-byte pointer per tensor: ${manifest.tensors.map((t) => t.name).join(", ")}; ` +
      `then the ${manifest.cuda!.uniforms.size}-byte param struct` +
      (manifest.cuda!.tensorMaps?.length ? `; then a 128-byte tensor map of ${manifest.cuda!.tensorMaps.map((m) => m.tensor).join(", ")})` : ")"),
  );
}

/**
 * The image as the driver should see it: gzip is undone, and PTX given as bytes becomes text (so
 * its entry point can be checked); cubins and fatbins stay bytes.
 */
export function normalizeImage(image: string | Uint8Array): string | Uint8Array {
  if (typeof image === "string") return image;
  let bytes = image;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const elf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  const fatbin = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0xed && bytes[2] === 0x55 && bytes[3] === 0xba;
  if (elf || fatbin) return bytes;
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}
