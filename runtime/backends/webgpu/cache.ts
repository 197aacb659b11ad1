/// <reference types="@webgpu/types" />
import { BufferUsage } from "./constants.ts";

// Reuse of the per-launch GPU objects: uniform buffers and bind groups.
//
// The hazard to avoid: queue.writeBuffer takes effect at the next submit, so rewriting a uniform
// buffer that an *unsubmitted* command buffer still reads would change that earlier launch's
// uniforms. Launches that submit themselves are safe to rewrite after (queue order guarantees
// the earlier submit read the old bytes); launches encoded into a caller's pass are not, since we
// cannot know when the caller submits. So buffers are keyed by content: an identical uniform
// block (the common case: same shapes, same scalars, step after step) is reused with no write at
// all; a buffer that ever went into a caller's pass is never rewritten, only dropped from the
// pool (Dawn frees it once no command buffer holds it); other buffers are recycled in place.

interface UniformEntry {
  buffer: GPUBuffer;
  /** True once used by a launch encoded into a caller's pass (possibly not yet submitted). */
  pinned: boolean;
}

export class UniformPool {
  // Map iteration order is insertion order: re-inserting on use makes the first entry the
  // least recently used.
  private entries = new Map<string, UniformEntry>();
  /** Uniform buffers created so far (for tests and leak checks). */
  created = 0;

  constructor(
    private device: GPUDevice,
    private size: number,
    private capacity = 16,
    private label = "uniforms",
    /** Called with a buffer that leaves the pool, so dependants (bind groups) can go too. */
    private onDrop: (b: GPUBuffer) => void = () => {},
  ) {}

  /** A uniform buffer holding `bytes`. `pinned`: it will be used in a pass the caller submits. */
  acquire(bytes: Uint8Array<ArrayBuffer>, pinned: boolean): GPUBuffer {
    const key = keyOf(bytes);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      hit.pinned ||= pinned;
      this.entries.set(key, hit);
      return hit.buffer;
    }
    let buffer: GPUBuffer | undefined;
    if (this.entries.size >= this.capacity) {
      const [oldKey, old] = this.entries.entries().next().value as [string, UniformEntry];
      this.entries.delete(oldKey);
      if (old.pinned) this.onDrop(old.buffer);
      else buffer = old.buffer; // every launch that read it has been submitted: rewrite is safe
    }
    if (!buffer) {
      buffer = this.device.createBuffer({
        label: this.label,
        // Exactly the manifest's size; a kernel without uniforms still gets a (tiny) binding.
        size: this.size || 4,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      });
      this.created++;
    }
    this.device.queue.writeBuffer(buffer, 0, bytes);
    this.entries.set(key, { buffer, pinned });
    return buffer;
  }

  /** Buffers currently pooled. */
  get pooled(): number {
    return this.entries.size;
  }

  /** Destroy every pooled buffer. Work already submitted still completes. */
  destroy(): void {
    for (const { buffer } of this.entries.values()) buffer.destroy();
    this.entries.clear();
  }
}

function keyOf(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

// Small integer ids for GPU objects, so a set of buffers can key a Map.
const ids = new WeakMap<object, number>();
let nextId = 1;
export function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/**
 * Bind groups by (uniform buffer, tensor buffers), least recently used dropped first. Decode
 * loops launch with the same buffers every step; creating a bind group per launch would be
 * wasted work, and keeping every one ever made would pin every buffer ever passed.
 */
export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  /** Bind groups created so far (for tests and leak checks). */
  created = 0;

  constructor(private capacity = 64) {}

  /** `sizes`: binding sizes where not whole buffers; part of the key. */
  get(
    buffers: readonly GPUBuffer[],
    sizes: readonly (number | undefined)[],
    make: () => GPUBindGroup,
  ): GPUBindGroup {
    let key = buffers.map(objectId).join(",");
    if (sizes.some((s) => s !== undefined)) key += `|${sizes.join(",")}`;
    let g = this.groups.get(key);
    if (g) {
      this.groups.delete(key);
    } else {
      g = make();
      this.created++;
      if (this.groups.size >= this.capacity) this.groups.delete(this.groups.keys().next().value as string);
    }
    this.groups.set(key, g);
    return g;
  }

  /** Drop the bind groups that use `buffer` (it left the uniform pool). */
  forget(buffer: GPUBuffer): void {
    const id = String(objectId(buffer));
    for (const key of [...this.groups.keys()]) {
      if (key.split("|")[0].split(",").includes(id)) this.groups.delete(key);
    }
  }

  clear(): void {
    this.groups.clear();
  }
}
