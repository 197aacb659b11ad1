// The GPU architectures the CUDA backend builds for. Every kernel is compiled (and checked for
// spills) for each; a spec's `target cuda sm_80:` clause may give one of them tile sizes of its own.
export const ARCHS = ["sm_80", "sm_90a"] as const;
export type Arch = (typeof ARCHS)[number];

/** Dynamic shared memory a block may have (the opt-in maximum): A100 163 KiB, H100/H200 227 KiB. */
export const MAX_SHARED: Record<Arch, number> = { sm_80: 163 * 1024, sm_90a: 227 * 1024 };

/** The architectures a block with this much shared memory can run on. */
export const archsFitting = (sharedBytes: number): Arch[] => ARCHS.filter((a) => sharedBytes <= MAX_SHARED[a]);
