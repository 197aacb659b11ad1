import type { CudaDevice } from "./device.ts";
import type { StreamHandle } from "./native.ts";

// Streams: the unit of ordering for launches, copies, events and graph capture. Runtime calls
// that take `{ stream }` use the legacy default stream when it is omitted (ordered with every
// blocking stream, but not with the non-blocking streams createStream makes by default).

export class CudaStream {
  private destroyed = false;

  constructor(
    readonly device: CudaDevice,
    /** The addon's handle; null never (use `null` as a stream argument for the default stream). */
    readonly handle: StreamHandle,
  ) {}

  /** Wait until all work queued on this stream has finished. */
  synchronize(): void {
    this.device.addon.streamSynchronize(this.handle);
  }

  /** Free the stream (queued work still completes). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.addon.streamDestroy(this.handle);
  }
}

/** A new stream; non-blocking (not ordered with the legacy default stream) unless told otherwise. */
export function createStream(device: CudaDevice, opts: { nonBlocking?: boolean } = {}): CudaStream {
  return new CudaStream(device, device.addon.streamCreate(opts.nonBlocking ?? true));
}

/** The addon's stream argument for an optional CudaStream: null is the legacy default stream. */
export function streamHandle(stream: CudaStream | null | undefined): StreamHandle | null {
  return stream ? stream.handle : null;
}
