// The code of the plain loops whose scores read K's staged bytes (split-scores.ts, plainSplits):
// the query split before each loop, the scale bound to each row's factor within it, the scores'
// FP8 wgmma steps, and K's widening left to the sm_80 path. Overlapped loops emit theirs in
// overlap-emit.ts.
import type { ForInst, Value } from "../../ir/ir.ts";
import { hopperOnly } from "./hopper-only.ts";
import type { Site } from "./layouts.ts";
import { type PlainSplit, type SplitHost, emitQuerySplit, emitSplitSteps, rowFactor } from "./split-scores.ts";

/** What the plain split loops need of the kernel emitter. */
export interface PlainSplitHost extends SplitHost {
  scalarOf(v: Value): string;
  /** Wait for tile v's copy where it is still in flight, and publish it. */
  settle(v: Value): void;
  /** Emit with v bound to an expression of the element's site (elements.ts), then unbind it. */
  withBound(v: Value, at: (site: Site) => string, body: () => void): void;
}

export class PlainSplitLoops {
  /** Loops whose query has been split so far. */
  private splits = 0;

  constructor(
    private readonly host: PlainSplitHost,
    private readonly loops: Map<ForInst, PlainSplit>,
  ) {}

  ofLoop(f: ForInst): PlainSplit | undefined {
    return this.loops.get(f);
  }

  /** The staged K tiles these loops' copies land 128-byte swizzled. */
  stagedTiles(): Value[] {
    return [...this.loops.values()].map((ps) => ps.staged);
  }

  /**
   * Emit loop ps.loop (`emit`) with its scores on K's bytes: the query split before it on sm_90a,
   * each row's 1/s folded into the scores' scale; on sm_80 the factors are that scale.
   */
  emit(ps: PlainSplit, emit: () => void): void {
    const h = this.host;
    h.settle((ps.scores.op as Extract<Value["op"], { kind: "dot" }>).a);
    const scale = h.scalarOf(ps.split.scale);
    // The loops share one area for the split tiles: a later one's split waits for the warps still reading the last.
    const after = this.splits++ > 0;
    hopperOnly(
      h,
      () => {
        if (after) h.line("__syncthreads(); // every warp is done with the last loop's split query tiles");
        emitQuerySplit(h, ps.scores, ps.split, scale);
      },
      () => h.line(`const float ${h.name(ps.scores)}_rows[2] = {${scale}, ${scale}}; // the scores' scale, a row (the query is split on sm_90a alone)`),
    );
    h.withBound(ps.split.scale, rowFactor(h, ps.scores), emit);
  }

  /** The FP8 steps of dot v where it is the scores of loop f (innermost open loop) and f splits, else undefined. */
  steps(f: ForInst | undefined, v: Value): ((acc: string) => void) | undefined {
    const ps = f && this.loops.get(f);
    if (ps?.scores !== v) return undefined;
    return (acc) => emitSplitSteps(this.host, v, ps.staged, ps.split, acc, "its cp.async copies");
  }

  /** Fill widened tile v (`widen`, given the path it is emitted in): on sm_80 alone where these loops' scores read K's bytes instead. */
  widen(v: Value, widen: (only?: "other") => void): void {
    const ps = [...this.loops.values()].find((x) => x.kWide === v);
    if (!ps) return widen();
    const h = this.host;
    hopperOnly(
      h,
      () => h.line(`// ${h.name(v)} is not widened: the scores read ${h.name(ps.staged)}'s E4M3 bytes (split-scores.ts)`),
      () => widen("other"),
    );
  }
}
