import type { CudaDevice } from "./device.ts";
import type { CaptureMode, GraphExecHandle, GraphHandle } from "./native.ts";
import { streamHandle, type CudaStream } from "./stream.ts";

// CUDA graphs by stream capture: run `fn` once while the stream records its launches and copies
// instead of executing them, instantiate the recording, and replay it with one launch. This is
// what the graph-replay executor builds on (one graph per batch-size bucket).
//
// A captured launch keeps its arguments BY VALUE: the device pointers and the param struct
// (dims and scalars) as they were during capture. Replays see new data only through the memory
// those pointers address, so per-step values must live in device buffers that are rewritten
// before each replay (see DESIGN.md, "Graph replay").

export interface CapturedGraph {
  /** Nodes recorded (kernels, copies, memsets). */
  readonly nodes: number;
  /** Queue one replay on `stream` (default: the legacy default stream). */
  launch(stream?: CudaStream | null): void;
  /** Free the graph and its executable. Idempotent; replays already queued still complete. */
  destroy(): void;
}

export interface CaptureOptions {
  /** Which other calls invalidate the capture (cuStreamBeginCapture's mode); default "global". */
  mode?: CaptureMode;
}

/**
 * Record what `fn` queues on `stream` into a graph and instantiate it. `fn` must be synchronous
 * and queue its work on `stream` (launch(args, { stream }), uploads with { stream }, ...); the
 * legacy default stream and synchronous copies cannot be captured. If `fn` throws, the capture
 * is ended and discarded and the error rethrown.
 */
export function captureGraph(device: CudaDevice, stream: CudaStream, fn: (stream: CudaStream) => void, opts: CaptureOptions = {}): CapturedGraph {
  const a = device.addon;
  a.streamBeginCapture(stream.handle, opts.mode ?? "global");
  let graph: GraphHandle;
  try {
    const r = fn(stream) as unknown;
    if (r !== undefined && typeof (r as { then?: unknown }).then === "function") {
      throw new Error("captureGraph: the function returned a promise; capture must be synchronous (queue work, don't await it)");
    }
  } catch (e) {
    try {
      a.graphDestroy(a.streamEndCapture(stream.handle));
    } catch {
      // an invalidated capture ends with an error of its own; the first error is the useful one
    }
    throw e;
  }
  graph = a.streamEndCapture(stream.handle);
  let exec: GraphExecHandle;
  try {
    exec = a.graphInstantiate(graph);
  } catch (e) {
    a.graphDestroy(graph);
    throw e;
  }
  const nodes = a.graphNodeCount(graph);
  let destroyed = false;
  return {
    nodes,
    launch(s?: CudaStream | null): void {
      if (destroyed) throw new Error("captureGraph: graph launched after destroy()");
      a.graphLaunch(exec, streamHandle(s));
    },
    destroy(): void {
      if (destroyed) return;
      destroyed = true;
      a.graphExecDestroy(exec);
      a.graphDestroy(graph);
    },
  };
}
