// What the code of a specially scheduled loop (rotate-emit.ts, leader-emit.ts) needs of the
// kernel emitter (emit.ts), whatever the schedule: lines, names, registers, the block barrier
// and the early copies.
import type { Value } from "../../ir/ir.ts";
import type { CopyTeam } from "./copy-emit.ts";
import type { CudaPlan } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";

export interface LoopHost {
  readonly plan: CudaPlan;
  line(s: string): void;
  enter(): void;
  leave(): void;
  name(v: Value): string;
  scalarOf(v: Value): string;
  registers(shape: number[]): number;
  /**
   * A block barrier after the copies in flight (`all`: the double-buffered ones too) are waited
   * for; on sm_90a only where `sm90When` holds, if given.
   */
  barrier(why: string, all?: boolean, sm90When?: string): void;
  asyncFence(): void;
  /** Start tile p.v's copy for loop index `index` where `guard` holds (`team`: these threads, or "none" of this code's). */
  issueAhead(p: Prefetch, index: string, guard: string, otherBuffer?: boolean, team?: CopyTeam | "none"): void;
}
