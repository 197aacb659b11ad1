import type { CudaDevice } from "./device.ts";
import type { EventHandle } from "./native.ts";
import { streamHandle, type CudaStream } from "./stream.ts";

// Timing device work with CUDA events: stamps recorded on a stream, so the time excludes host
// overhead between launches only as far as the queue stays full.

export class CudaEvent {
  private destroyed = false;
  readonly handle: EventHandle;

  constructor(readonly device: CudaDevice) {
    this.handle = device.addon.eventCreate(true);
  }

  /** Record the event on `stream` (default: the legacy default stream). */
  record(stream?: CudaStream | null): this {
    this.device.addon.eventRecord(this.handle, streamHandle(stream));
    return this;
  }

  /** Wait until the work before the recorded event has finished. */
  synchronize(): void {
    this.device.addon.eventSynchronize(this.handle);
  }

  /** Milliseconds from `start` to this event (both recorded and complete). */
  elapsedSince(start: CudaEvent): number {
    return this.device.addon.eventElapsedTime(start.handle, this.handle);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.addon.eventDestroy(this.handle);
  }
}

export interface CudaTiming {
  /** Median milliseconds per call of `fn`. */
  ms: number;
  /** Every measured repetition, in milliseconds, in order. */
  samples: number[];
  minMs: number;
}

/**
 * Time `fn` (which queues work on `stream`): `warmup` untimed calls, then `reps` calls each
 * between two events; returns the median. Use a graph (captureGraph) for launch-bound work.
 */
export function timeEvents(
  device: CudaDevice,
  fn: () => void,
  opts: { stream?: CudaStream | null; warmup?: number; reps?: number } = {},
): CudaTiming {
  const { stream = null, warmup = 3, reps = 20 } = opts;
  for (let i = 0; i < warmup; i++) fn();
  const events = Array.from({ length: reps + 1 }, () => new CudaEvent(device));
  try {
    events[0].record(stream);
    for (let i = 1; i <= reps; i++) {
      fn();
      events[i].record(stream);
    }
    events[reps].synchronize();
    const samples = events.slice(1).map((e, i) => e.elapsedSince(events[i]));
    const sorted = [...samples].sort((x, y) => x - y);
    return { ms: sorted[Math.floor(sorted.length / 2)], samples, minMs: sorted[0] };
  } finally {
    events.forEach((e) => e.destroy());
  }
}
