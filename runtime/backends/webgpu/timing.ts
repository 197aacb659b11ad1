/// <reference types="@webgpu/types" />
import { BufferUsage, MapMode } from "./constants.ts";

// Timing GPU work. With 'timestamp-query' the GPU stamps the start and end of the compute pass,
// which excludes submit and readback overhead; without it we fall back to wall-clock time from
// submit to onSubmittedWorkDone. Note that Dawn quantizes timestamps (to ~100 µs) unless created
// with the toggle "disable-dawn-features=timestamp_quantization".

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
export async function timestamp(
  device: GPUDevice,
  encode: (pass: GPUComputePassEncoder) => void,
): Promise<Timing> {
  const useQuery = device.features.has("timestamp-query");
  const querySet = useQuery ? device.createQuerySet({ type: "timestamp", count: 2 }) : undefined;
  const resolve = useQuery
    ? device.createBuffer({ size: 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC })
    : undefined;
  const readback = useQuery
    ? device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST })
    : undefined;
  try {
    const encoder = device.createCommandEncoder({ label: "timestamp" });
    const pass = encoder.beginComputePass(
      querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    encode(pass);
    pass.end();
    if (querySet && resolve && readback) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    }
    const commands = encoder.finish();

    await device.queue.onSubmittedWorkDone(); // don't count earlier work in the wall clock
    const t0 = performance.now();
    device.queue.submit([commands]);
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - t0;

    if (readback) {
      await readback.mapAsync(MapMode.READ);
      const [begin, end] = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      // Some drivers return 0s or non-monotonic stamps (e.g. across a clock change): then the
      // wall clock is the better number.
      if (end > begin && begin > 0n)
        return { ms: Number(end - begin) / 1e6, source: "timestamp-query", wallMs };
    }
    return { ms: wallMs, source: "wall-clock", wallMs };
  } finally {
    querySet?.destroy();
    resolve?.destroy();
    readback?.destroy();
  }
}
