import { checkSignature } from "../../args.ts";
import type { CudaTarget, KernelManifest } from "../../manifest.ts";

// A manifest is written by the compiler; when it is inconsistent that is a compiler bug, and the
// place to say so is load time, not the first launch or a silent wrong result. The checks every
// runtime makes are in runtime/args.ts (checkSignature); the CUDA target's own are here. Device
// limits (block size, shared memory) are checked by the loader against the device.

/** Throw if `manifest` cannot be launched by the CUDA runtime; returns its CUDA target. */
export function checkCudaManifest(manifest: KernelManifest): CudaTarget {
  const fail = (msg: string): never => {
    throw new Error(`${manifest.name}: bad manifest: ${msg}`);
  };
  const cuda = manifest.cuda ?? fail("no CUDA target (manifest.cuda is missing)");
  checkSignature(manifest, cuda.uniforms, { uniforms: "param struct", runtime: "CUDA" }, fail);
  if (typeof cuda.entryPoint !== "string" || !/^[A-Za-z_$][\w$]*$/.test(cuda.entryPoint))
    fail(`entry point ${JSON.stringify(cuda.entryPoint)} is not a kernel name`);
  const b = cuda.blockDim;
  if (!Array.isArray(b) || b.length !== 3 || !b.every((n) => Number.isInteger(n) && n >= 1))
    fail(`blockDim ${JSON.stringify(b)} is not three positive integers`);
  if (b[0] * b[1] * b[2] > 1024) fail(`blockDim [${b.join(", ")}] has ${b[0] * b[1] * b[2]} threads; CUDA allows at most 1024`);
  if (!Number.isInteger(cuda.sharedBytes) || cuda.sharedBytes < 0)
    fail(`sharedBytes ${cuda.sharedBytes} is not a non-negative integer`);
  for (const [i, m] of (cuda.tensorMaps ?? []).entries()) {
    const what = `tensorMaps[${i}]`;
    const arg = manifest.tensors.find((t) => t.name === m?.tensor);
    if (!arg) fail(`${what} names tensor ${JSON.stringify(m?.tensor)}, which the kernel does not take`);
    if (!Array.isArray(m.box) || m.box.length !== 2 || !m.box.every((n) => Number.isInteger(n) && n >= 1 && n <= 256))
      fail(`${what}.box ${JSON.stringify(m.box)} is not two integers from 1 to 256 (TMA's limit)`);
    if (![0, 32, 64, 128].includes(m.swizzle)) fail(`${what}.swizzle ${JSON.stringify(m.swizzle)} is not 0, 32, 64 or 128`);
    if (m.rowDims !== undefined && (!Number.isInteger(m.rowDims) || m.rowDims < 1 || m.rowDims > arg!.shape.length))
      fail(`${what}.rowDims ${JSON.stringify(m.rowDims)} is not an integer from 1 to the rank of '${arg!.name}' (${arg!.shape.length})`);
  }
  for (const [name, bytes] of Object.entries(cuda.align ?? {})) {
    if (!manifest.tensors.some((t) => t.name === name)) fail(`align names tensor ${JSON.stringify(name)}, which the kernel does not take`);
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256 || (bytes & (bytes - 1)) !== 0)
      fail(`align.${name} ${JSON.stringify(bytes)} is not a power of two from 1 to 256`);
  }
  return cuda;
}
