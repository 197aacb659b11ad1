/// <reference types="@webgpu/types" />
export interface Timing {
  /** Milliseconds the pass took. */
  ms: number;
  /** Where `ms` comes from. */
  source: "timestamp-query" | "wall-clock";
  /** Wall-clock milliseconds from submit to completion (always measured; includes overhead). */
  wallMs: number;
}
/**
 * Encode work into one compute pass via `encode` (e.g. `pass => kernel.launch(args, { pass })`),
 * submit it, wait for it, and report how long it took.
 */
export declare function timestamp(
  device: GPUDevice,
  encode: (pass: GPUComputePassEncoder) => void,
): Promise<Timing>;
