// Dot operand tiles on their way into shared memory: which copies are in flight (cp.async groups,
// oldest first) and which have arrived, the early copies (an operand issued before the body
// statement that needs it, a loop's next tile), the waits for them and the block barriers that
// publish them. TMA-copied tiles (tma.ts, tma-stream.ts) are issued and waited for here too; their
// cp.async groups stay (empty) so that the wait counts are the same on every path.
import type { ForInst, Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { type CopyHost, type CopyTeam, copyChunks } from "./copy-emit.ts";
import { opExpr, position } from "./elements.ts";
import { hopperOnly } from "./hopper-only.ts";
import type { Prefetch } from "./prefetch.ts";
import { regType } from "./syntax.ts";
import { type TmaCopy, copyDeps, emitTileCopy } from "./tma.ts";
import { type TmaStream, emitStreamCopy, emitStreamWait, streamOf } from "./tma-stream.ts";

/** What the copies need of the kernel emitter. */
export interface TileCopiesHost extends CopyHost {
  name(v: Value): string;
  scalarOf(v: Value): string;
  region(v: Value): Region | undefined;
  asyncFence(): void;
  /** Emit with each value named as given, then restore the names. */
  renamed(pairs: [Value, string][], body: () => void): void;
  /** Is f's body being emitted (f on the stack of open loops)? */
  inLoop(f: ForInst): boolean;
  /** The line emitted last. */
  previousLine(): string | undefined;
  /** Tile v is in shared memory, visible to every thread: what is done with it once. */
  landed(v: Value): void;
  /** Does the copy of f's tiles compute every row's address first (leader and rotated loops)? */
  batched(f: ForInst): boolean;
}

/**
 * Emit `body` (a copy) with loop f's index named `index`: the body scalars `deps` its addresses
 * read are recomputed first for that index, as `<name>_ahead`, and read under those names.
 */
export function forIndex(h: Pick<TileCopiesHost, "line" | "name" | "renamed"> & Parameters<typeof opExpr>[0], f: ForInst, index: string, deps: Value[], body: () => void): void {
  const ahead = deps.map((d) => [d, `${h.name(d).replace(/^P\./, "")}_ahead`] as [Value, string]);
  h.renamed([[f.iv, index], ...ahead], () => {
    for (const [d, next] of ahead) h.line(`const ${regType(d.type.dtype)} ${next} = ${opExpr(h, d, position("0", "0"))};`);
    body();
  });
}

export class TileCopies {
  /** Early-issued copies, oldest first, whose groups may still be in flight. */
  private inflight: Value[] = [];
  /** Copies known complete and visible to every thread (waited for at a barrier). */
  private arrived = new Set<Value>();

  constructor(
    private readonly host: TileCopiesHost,
    /** Tiles with several buffers, which may stay in flight across a barrier. */
    private readonly doubled: Map<Value, Prefetch>,
    /** Prefetched tiles that TMA copies on sm_90a (tma.ts). */
    private readonly tma: TmaCopy[],
    /** Tiles of one-buffer loops that TMA copies on sm_90a (tma-stream.ts). */
    private readonly streams: TmaStream[],
  ) {}

  hasArrived(v: Value): boolean {
    return this.arrived.has(v);
  }
  inFlight(v: Value): boolean {
    return this.inflight.includes(v);
  }

  /**
   * A block-wide barrier that first waits for the copies in flight. Double-buffered tiles
   * streaming in for a later iteration stay in flight when they are the youngest groups (groups
   * complete in order, so an older one cannot be skipped); `all` waits for them too (a leader
   * loop's top: its body has no barrier to wait at later).
   */
  barrier(why: string, all = false, sm90When?: string): void {
    this.syncKeeping(why, all ? 0 : this.youngestDoubled(), sm90When);
  }

  /**
   * A barrier that only frees a tile's buffer for its next copy: it waits for no cp.async copy.
   * Each stays in flight until the first statement that reads it (complete), so that the V tile
   * issued at the body's top streams in behind the scores and the softmax, not the scores alone
   * (on an H200: one-warp decode blocks over long requests 1.09-1.25x faster, page-1 gqa_paged
   * 1.06-1.17x, the fp8 split 2-3%). With a TMA-copied tile in flight it waits as `barrier` does:
   * waiting for TMA's V right before P·V made the long prefills 2-5% slower
   * (docs/performance-history.md, "V awaited at its first reader").
   */
  freeingBarrier(why: string): void {
    const tma = this.inflight.some((v) => streamOf(this.streams, v));
    this.syncKeeping(why, tma ? this.youngestDoubled() : this.inflight.length);
  }

  /** How many of the youngest copies in flight are double-buffered tiles. */
  private youngestDoubled(): number {
    let n = 0;
    while (n < this.inflight.length && this.doubled.has(this.inflight[this.inflight.length - 1 - n])) n++;
    return n;
  }

  /**
   * Wait for every copy in flight but the `keep` youngest, then a block barrier; on sm_90a only
   * where `sm90When` holds, if given (a leader loop whose later tiles land on mbarriers and whose
   * groups order themselves by named barriers: leader-emit.ts).
   */
  private syncKeeping(why: string, keep: number, sm90When?: string): void {
    const h = this.host;
    const flushed = this.inflight.slice(0, this.inflight.length - keep);
    if (flushed.length) {
      for (const v of flushed) this.streamWait(v);
      h.line(`cp_async_wait<${keep}>(); // ${flushed.map((v) => h.name(v)).join(", ")} arrived`);
      h.asyncFence();
    }
    // Right after another barrier (a completed fill) with nothing to wait for, one is enough.
    if (sm90When) {
      hopperOnly(
        h,
        () => h.line(`if (${sm90When}) __syncthreads(); // ${why}`),
        () => h.line(`__syncthreads(); // ${why}`),
      );
    } else if (flushed.length || !h.previousLine()?.trim().startsWith("__syncthreads();")) h.line(`__syncthreads(); // ${why}`);
    this.inflight = this.inflight.slice(this.inflight.length - keep);
    for (const v of flushed) {
      this.arrived.add(v);
      h.landed(v);
    }
  }

  /**
   * Start the copy of tile p.v for loop index `index` when `guard` holds, recomputing the body
   * scalars its addresses read. The group is committed either way, so the wait counts are the
   * same on every iteration. `team`: only these threads copy; "none": this code's threads copy
   * nothing (a leader loop's group 0, whose other groups copy for it).
   */
  issueAhead(p: Prefetch, index: string, guard: string, otherBuffer = false, team?: CopyTeam | "none"): void {
    const h = this.host;
    if (!otherBuffer) this.arrived.delete(p.v);
    this.inflight.push(p.v);
    if (team === "none") return;
    h.line(`if (${guard}) {`);
    h.enter();
    forIndex(h, p.loop, index, copyDeps(this.tma, p, team), () => {
      const cpAsync = () => copyChunks(h, p.v, h.region(p.v)!, h.batched(p.loop), team);
      const stream = team ? undefined : streamOf(this.streams, p.v);
      if (stream) emitStreamCopy(h, stream, h.region(p.v)!, cpAsync);
      else emitTileCopy(h, this.tma, p, (v) => h.region(v)!, index, team, cpAsync);
    });
    h.leave();
    h.line("}");
    h.line("cp_async_commit();");
  }

  /** Start the copy of an operand early: cp.async chunks (or TMA boxes), committed as one group. */
  issue(v: Value): void {
    const h = this.host;
    this.arrived.delete(v);
    const stream = streamOf(this.streams, v);
    if (stream) emitStreamCopy(h, stream, h.region(v)!, () => copyChunks(h, v, h.region(v)!));
    else copyChunks(h, v, h.region(v)!);
    h.line("cp_async_commit();");
    this.inflight.push(v);
  }

  /** Wait for an early copy, leaving the younger groups in flight, and publish it with a block barrier. */
  complete(v: Value): void {
    const h = this.host;
    const i = this.inflight.indexOf(v);
    const younger = this.inflight.length - 1 - i;
    for (const x of this.inflight.slice(0, i + 1)) this.streamWait(x);
    h.line(`cp_async_wait<${younger}>(); // ${h.name(v)} has arrived`);
    h.asyncFence();
    h.line("__syncthreads();");
    // Older groups have arrived too; a tile whose next copy is still in flight is not marked.
    for (const x of this.inflight.splice(0, i + 1)) if (!this.inflight.includes(x)) this.arrived.add(x);
    h.landed(v);
  }

  /** The last iteration of the loop these tiles were copied ahead for issued nothing (its group is empty). */
  loopDone(ahead: Prefetch[]): void {
    this.inflight = this.inflight.filter((v) => !ahead.some((p) => p.v === v));
  }

  /** These tiles' copies have arrived and are visible to every thread; `waited`'s copies (or all) are no longer in flight. */
  settled(tiles: Value[], waited: Value[] | "all"): void {
    for (const v of tiles) this.arrived.add(v);
    this.inflight = waited === "all" ? [] : this.inflight.filter((v) => !waited.includes(v));
  }

  /** The state now, and a function that brings it back (a loop emitted once per group of warps). */
  saved(): () => void {
    const [inflight, arrived] = [[...this.inflight], new Set(this.arrived)];
    return () => {
      this.inflight = [...inflight];
      this.arrived = new Set(arrived);
    };
  }

  /**
   * Where TMA copies v (tma-stream.ts), wait for its mbarrier: in its loop, the phase of this
   * iteration's copy; before the loop, the first.
   */
  private streamWait(v: Value): void {
    const s = streamOf(this.streams, v);
    if (!s) return;
    const h = this.host;
    emitStreamWait(h, s, h.inLoop(s.loop) ? `(${h.name(s.loop.iv)} - ${h.scalarOf(s.loop.lo)}) & 1` : "0");
  }
}
