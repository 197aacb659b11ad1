// The code of a loop whose scores run a tile ahead (rotate.ts decides which): before the loop
// the first two tiles' copies, on entry the first tile's dots; at each tile's top the wait for
// them, the exchange of the groups' partial sums around the tile's one barrier, the next tile's
// dots and the copies of the tile after it; at the scores' place in the body the summed scores;
// right before the deferred dot (P·V) rescales its accumulator, the wait for the last tile's;
// after the loop the wait for what still runs. The kernel emitter (emit.ts) hosts it.
import type { Block, ForInst, Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { hopperOnly } from "./hopper-only.ts";
import { type DotEmitter, emitDot, exchangeRead, exchangeWrite } from "./mma.ts";
import type { LoopHost } from "./loop-host.ts";
import type { MmaShape } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import type { Rotation } from "./rotate.ts";
import { regFences, wgmmaComment, wgmmaSteps } from "./wgmma.ts";

/** What the rotated loop's code needs of the kernel emitter, besides every special loop's (loop-host.ts). */
export interface RotationHost extends LoopHost {
  region(v: Value): Region | undefined;
  dotHost(): DotEmitter;
  /** Emit with each value named as given (a loop index as the next one's), then restore the names. */
  renamed(pairs: [Value, string][], body: () => void): void;
  /** These tiles' copies have arrived and are visible to every thread; `waited`'s copies (or all) are no longer in flight. */
  settled(tiles: Value[], waited: Value[] | "all"): void;
}

export class RotatedLoops {
  private readonly byBody = new Map<Block, Rotation>();

  constructor(
    private readonly host: RotationHost,
    private readonly rotations: Map<ForInst, Rotation>,
    /** Where the exchange buffers start, and one's bytes (two alternate). */
    private readonly exchangeAt: number,
    private readonly exchangeSize: number,
  ) {
    for (const r of rotations.values()) this.byBody.set(r.loop.body, r);
  }

  ofLoop(f: ForInst): Rotation | undefined {
    return this.rotations.get(f);
  }

  ofBody(b: Block): Rotation | undefined {
    return this.byBody.get(b);
  }

  /** At the first scores dot's place in the body: the scores, this group's part plus the others' from the exchange. */
  scores(rot: Rotation): void {
    const v = rot.dots[0];
    const n = this.host.name(v);
    this.host.line(`// ${n}: the scores, their dots issued a tile ago`);
    exchangeRead(this.host.dotHost(), n, this.host.registers(v.type.shape), this.host.plan.shape as MmaShape, this.exchangeBuffer(rot));
  }

  /** The exchange buffer of the current tile (two alternate, so one barrier a tile suffices). */
  private exchangeBuffer(rot: Rotation): string {
    return `${this.exchangeAt} + (${this.host.name(rot.loop.iv)} & 1) * ${this.exchangeSize}`;
  }

  private accName(rot: Rotation): string {
    return `${this.host.name(rot.dots[0])}_ahead`;
  }

  /** Before the loop: the tiles of its first two indices, those of the first waited for. */
  prologue(rot: Rotation, ahead: Prefetch[]): void {
    const f = rot.loop;
    const [lo, hi] = [this.host.scalarOf(f.lo), this.host.scalarOf(f.hi)];
    this.host.barrier("the tiles' shared memory is free");
    for (const p of ahead) this.host.issueAhead(p, lo, `${lo} < ${hi}`);
    for (const p of ahead) this.host.issueAhead(p, `(${lo} + 1)`, `${lo} + 1 < ${hi}`, true);
    this.host.line(`cp_async_wait<${ahead.length}>(); // the first tile's ${ahead.map((p) => this.host.name(p.v)).join(", ")} arrived`);
    this.host.asyncFence();
    this.host.line("__syncthreads();");
    const tiles = ahead.map((p) => p.v);
    this.host.settled(tiles, tiles);
  }

  /**
   * The first tile's scores dots, issued after the loop's carried variables are set (set after
   * the commit, they had ptxas wait for the dots there: its C7517 note).
   */
  entry(f: ForInst): void {
    const rot = this.rotations.get(f);
    if (!rot) return;
    this.host.line(`float ${this.accName(rot)}[${this.host.registers(rot.dots[0].type.shape)}];`);
    // With a deferred dot, an empty group stands for the P·V of the tile before the first, so
    // that each tile's top finds its scores second youngest.
    this.issue(rot, this.host.scalarOf(f.lo), `${this.host.scalarOf(f.lo)} < ${this.host.scalarOf(f.hi)}`, !!rot.deferred);
  }

  /**
   * The body's top: wait for the dots of this tile (issued a tile ago; the last tile's deferred
   * dot, younger, may run on: see awaitDeferred), hand this group's partial scores to the
   * exchange and keep them (the next tile's dots overwrite the accumulator), then one barrier
   * (this tile's partial sums and the next tile's copies visible to all; every warp past the
   * last tile), after which the next tile's dots and the copies of the tile after it start.
   */
  top(rot: Rotation, top: Prefetch[]): void {
    const f = rot.loop;
    const iv = this.host.name(f.iv);
    const acc = this.accName(rot);
    const regs = this.host.registers(rot.dots[0].type.shape);
    const host = this.host.dotHost();
    hopperOnly(this.host, () => {
      if (rot.deferred) this.host.line(`wgmma_wait<1>(); // this tile's scores (the last tile's dot into ${this.host.name(rot.deferred.carried)} may still run)`);
      else this.host.line("wgmma_wait<0>(); // this tile's scores");
      this.fence(acc, regs);
    });
    this.host.line(`// ${acc}: this group's part of k, summed with the other groups' after the barrier`);
    exchangeWrite(host, acc, regs, this.host.plan.shape as MmaShape, this.exchangeBuffer(rot));
    const scores = this.host.name(rot.dots[0]);
    this.host.line(`float ${scores}[${regs}];`);
    this.host.line("#pragma unroll");
    this.host.line(`for (int x = 0; x < ${regs}; ++x) ${scores}[x] = ${acc}[x]; // kept: the next tile's dots reuse ${acc}`);
    this.host.line(`cp_async_wait<0>(); // ${top.map((p) => this.host.name(p.v)).join(", ")} of the next tile arrived (its dots start after the barrier)`);
    this.host.asyncFence();
    this.host.line("__syncthreads(); // the partial scores written; every warp is done with the last tile's buffers");
    this.host.settled(
      top.map((p) => p.v),
      "all",
    );
    this.issue(rot, `(${iv} + 1)`, `${iv} + 1 < ${this.host.scalarOf(f.hi)}`);
    for (const p of top) this.host.issueAhead(p, `(${iv} + 2)`, `${iv} + 2 < ${this.host.scalarOf(f.hi)}`, true);
  }

  /**
   * The scores dots of loop index `index` into the accumulator, each group its share of k: on
   * sm_90a committed and not waited for (its buffers are read by the tensor cores while the
   * warps go on), elsewhere computed in place. Only where that index is a tile of the loop: no
   * dot is then running when the loop is left or skipped (ptxas would otherwise wait for it
   * where the compiler copies the accumulator along those edges: its C7517 note).
   */
  private issue(rot: Rotation, index: string, guard: string, emptyGroup = false): void {
    const f = rot.loop;
    const acc = this.accName(rot);
    const host = this.host.dotHost();
    this.host.renamed([[f.iv, index], ...rot.dots.map((d) => [d, acc] as [Value, string])], () => {
      this.host.line(`if (${guard}) {`);
      this.host.enter();
      this.host.line(`for (int i = 0; i < ${this.host.registers(rot.dots[0].type.shape)}; ++i) ${acc}[i] = 0.0f;`);
      hopperOnly(
        this.host,
        () => {
          this.host.line("wgmma_fence();");
          for (const d of rot.dots) {
            this.host.line(wgmmaComment(this.host.plan, d, acc, true));
            wgmmaSteps(host, this.host.plan, d, acc, true);
          }
          this.host.line("wgmma_commit();");
          if (emptyGroup) this.host.line("wgmma_commit(); // empty");
        },
        () => {
          for (const d of rot.dots) emitDot(host, d, this.host.plan.shape as MmaShape, this.host.plan.cachedFragments, true, true, this.exchangeAt, false);
        },
      );
      this.host.leave();
      this.host.line("}");
    });
  }

  /**
   * Before the deferred dot first reads its carried accumulator (acc * alpha): the wait for the
   * last tile's, which ran beside this tile's exchange and softmax. The next tile's scores,
   * younger, are waited for with it: leaving them running (wait<1>) has ptxas serialize every
   * wgmma of the kernel (its C7514 note): 16-20% slower on an H200 (docs/performance-history.md).
   */
  awaitDeferred(rot: Rotation): void {
    if (!rot.deferred) return;
    const carried = rot.deferred.carried;
    hopperOnly(this.host, () => {
      this.host.line(`wgmma_wait<0>(); // the last tile's dot into ${this.host.name(carried)} (and the next tile's scores)`);
      this.fence(this.host.name(carried), this.host.registers(carried.type.shape));
    });
  }

  /** After the loop: the dots still running (the deferred one, the scores of the index past the end). */
  epilogue(rot: Rotation): void {
    const carried = rot.deferred?.carried;
    hopperOnly(this.host, () => {
      this.host.line("wgmma_wait<0>();");
      if (carried) this.fence(this.host.name(carried), this.host.registers(carried.type.shape));
    });
  }

  /** After a wait: the accumulator's registers are read (or rewritten) no earlier. */
  private fence(name: string, regs: number): void {
    this.host.line(regFences(name, regs));
  }
}
