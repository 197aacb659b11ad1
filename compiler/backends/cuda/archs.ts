// The GPU architectures the CUDA backend builds for. Every kernel is compiled (and checked for
// spills) for each; a spec's `target cuda sm_80:` clause may give one of them tile sizes of its own.
export const ARCHS = ["sm_80", "sm_90a"] as const;
export type Arch = (typeof ARCHS)[number];
