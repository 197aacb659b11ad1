// Blocks per SM, the second argument of __launch_bounds__. A four-warp tensor-core kernel holds
// wide accumulators; ptxas, left alone, aims at a register count that spills them. Asking for two
// blocks per SM lets it use up to 255 registers a thread. Three blocks cap it at 168 and hide one
// block's barriers and waits behind two others, which is worth a lot when the kernel fits (head
// dim 64 causal prefill on the H200: 1.10-1.28x FA2 with three blocks against 0.87-1.02x with two,
// docs/performance-history.md). So the build asks for three where three blocks' shared memory fits an SM,
// and goes back to two if ptxas then spills on any architecture.

import type { PtxBuild } from "./nvcc.ts";

/** Shared memory of one SM on the GPUs we target, and what the driver reserves per block. */
const SM_SHARED_BYTES = 228 * 1024;
const RESERVED_PER_BLOCK = 1024;

/** The blocks per SM to try, most first, for a kernel the backend asked `asked` blocks for. */
export function blocksPerSmToTry(asked: number | undefined, threads: number, sharedBytes: number): number[] {
  if (asked !== 2 || threads !== 128) return [asked ?? 0];
  return 3 * (sharedBytes + RESERVED_PER_BLOCK) <= SM_SHARED_BYTES ? [3, 2] : [2];
}

/** Whether a build spilled registers or used a stack on any architecture. */
export function spills(build: PtxBuild): boolean {
  return Object.values(build.resources).some((r) => r.spillStores || r.spillLoads || r.stackBytes);
}

/**
 * The line above the kernel's __launch_bounds__: how many blocks per SM it asks for and, in the
 * source as shipped after a fallback, which higher counts spilled.
 */
export function occupancyLine(blocksPerSm: number, spilled: number[] = [], note?: string): string {
  return `// ${blocksPerSm} block(s) per SM asked of ptxas (occupancy.ts)${spilled.length ? `; ${spilled.join(", ")} spilled` : ""}${note ? `; ${note}` : ""}.`;
}

/**
 * The source as shipped when more blocks per SM spilled (or, with `note`, when a build without
 * the optional passes was needed): the line records it, so a later build
 * reuses this PTX only if its source is the same fallback (an older build that never tried the
 * higher count does not match).
 */
export function withSpilled(code: string, blocksPerSm: number, spilled: number[], note?: string): string {
  return spilled.length || note ? code.replace(occupancyLine(blocksPerSm), occupancyLine(blocksPerSm, spilled, note)) : code;
}
