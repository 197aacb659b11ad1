/// <reference types="@webgpu/types" />
export declare class UniformPool {
  private device;
  private size;
  private capacity;
  private label;
  /** Called with a buffer that leaves the pool, so dependants (bind groups) can go too. */
  private onDrop;
  private entries;
  /** Uniform buffers created so far (for tests and leak checks). */
  created: number;
  constructor(
    device: GPUDevice,
    size: number,
    capacity?: number,
    label?: string,
    /** Called with a buffer that leaves the pool, so dependants (bind groups) can go too. */
    onDrop?: (b: GPUBuffer) => void,
  );
  /** A uniform buffer holding `bytes`. `pinned`: it will be used in a pass the caller submits. */
  acquire(bytes: Uint8Array<ArrayBuffer>, pinned: boolean): GPUBuffer;
  /** Buffers currently pooled. */
  get pooled(): number;
  /** Destroy every pooled buffer. Work already submitted still completes. */
  destroy(): void;
}
export declare function objectId(o: object): number;
/**
 * Bind groups by (uniform buffer, tensor buffers), least recently used dropped first. Decode
 * loops launch with the same buffers every step; creating a bind group per launch would be
 * wasted work, and keeping every one ever made would pin every buffer ever passed.
 */
export declare class BindGroupCache {
  private capacity;
  private groups;
  /** Bind groups created so far (for tests and leak checks). */
  created: number;
  constructor(capacity?: number);
  /** `sizes`: binding sizes where not whole buffers; part of the key. */
  get(
    buffers: readonly GPUBuffer[],
    sizes: readonly (number | undefined)[],
    make: () => GPUBindGroup,
  ): GPUBindGroup;
  /** Drop the bind groups that use `buffer` (it left the uniform pool). */
  forget(buffer: GPUBuffer): void;
  clear(): void;
}
