import type { CudaDeviceInfo } from "./native.ts";

// Small facts read from PTX text and architecture names, with no driver: which PTX of a
// manifest's set suits a device, and the parameter sizes of an entry point (to check a kernel
// against its manifest's ABI where the driver can't, and in tests).

/**
 * The architecture, among `available` ("sm_80", "sm_90a", ...), whose code runs best on a device
 * of compute capability major.minor: an arch-specific build ("sm_90a") only on exactly that
 * capability, else the newest plain one not newer than the device (PTX JIT-compiles forward).
 */
export function choosePtxArch(available: readonly string[], info: Pick<CudaDeviceInfo, "computeCapabilityMajor" | "computeCapabilityMinor">): string {
  const cc = info.computeCapabilityMajor * 10 + info.computeCapabilityMinor;
  const parsed = available
    .map((arch) => ({ arch, m: /^(?:sm|compute)_(\d+)([af]?)$/.exec(arch) }))
    .filter((p) => p.m)
    .map((p) => ({ arch: p.arch, cc: Number(p.m![1]), suffix: p.m![2] }));
  const exact = parsed.find((p) => p.suffix === "a" && p.cc === cc);
  if (exact) return exact.arch;
  const plain = parsed.filter((p) => p.suffix === "" && p.cc <= cc).sort((a, b) => b.cc - a.cc);
  if (plain.length) return plain[0].arch;
  throw new Error(
    `no PTX for this device (sm_${cc}): the kernel was built for ${available.length ? available.join(", ") : "no architecture"}`,
  );
}

const SCALAR_BYTES: Record<string, number> = { 8: 1, 16: 2, 32: 4, 64: 8 };

/**
 * Byte sizes of the parameters of `.entry name(...)` in PTX text, or undefined if there is no
 * such entry. `.param .u64 p` is 8 bytes; `.param .align 4 .b8 p[16]` (a struct by value) is 16.
 */
export function ptxEntryParamSizes(ptx: string, entry: string): number[] | undefined {
  const head = new RegExp(`\\.entry\\s+${entry.replace(/\$/g, "\\$")}\\s*\\(`).exec(ptx);
  if (!head) return undefined;
  const close = ptx.indexOf(")", head.index + head[0].length);
  if (close < 0) return undefined;
  const body = ptx.slice(head.index + head[0].length, close).trim();
  if (body === "") return [];
  return body.split(",").map((decl) => {
    const arr = /\.b8\s+[\w$]+\s*\[(\d+)\]/.exec(decl);
    if (arr) return Number(arr[1]);
    const scalar = /\.[usbf](8|16|32|64)\b/.exec(decl.replace(/\.align\s+\d+/, ""));
    if (scalar) return SCALAR_BYTES[scalar[1]];
    throw new Error(`cannot read the PTX parameter '${decl.trim()}' of '${entry}'`);
  });
}
