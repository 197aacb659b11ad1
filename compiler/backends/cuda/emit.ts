// Emit the CUDA C body of one kernel instance from its tile IR and plan. Scalars become const
// locals; register tiles become float arrays indexed by compile-time slots in fully unrolled
// loops (so they live in registers); loaded dot operands are copied to shared memory with
// cp.async; loops and branches map one to one. A comment names the spec line of each block.
import type { Block, ForInst, Inst, KernelIR, Value } from "../../ir/ir.ts";
import type { Region, SharedLayout } from "../common/shared-alloc.ts";
import { CudaKernelView } from "./emit-base.ts";
import { elem, opExpr, position } from "./elements.ts";
import { hopperOnly } from "./hopper-only.ts";
import { type Site, type ThreadLayout, MmaLayout } from "./layouts.ts";
import { cacheFragments, emitDot } from "./mma.ts";
import { permuteKeyOrder } from "./fp8-keys.ts";
import { type CopyTeam, copyChunks, storeElements, widenInPlace, widenStaged } from "./copy-emit.ts";
import { TileCopies } from "./tile-copies.ts";
import { emitWgmmaDot, tileAt } from "./wgmma.ts";
import { preamble } from "./preamble.ts";
import { copiedLoad } from "./copyable.ts";
import { type CudaPlan, type MmaShape, anywhere, readsInline } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import type { Rotation } from "./rotate.ts";
import { RotatedLoops } from "./rotate-emit.ts";
import { emitReduce, emitRowCombine, emitStore } from "./tile-emit.ts";
import { type LazySums, definedIn, lazySums } from "./lazy-sums.ts";
import type { LeaderLoop } from "./leader.ts";
import { type LeaderHost, LeaderLoops } from "./leader-emit.ts";
import { blockIndex, heaviestFirstAxes } from "./schedule.ts";
import { regType } from "./syntax.ts";
import { type TmaCopy, emitBoxWait, wholeBoxes } from "./tma.ts";
import type { TmaStream } from "./tma-stream.ts";
import type { Overlap } from "./overlap.ts";
import { type OverlapHost, OverlapLoops } from "./overlap-emit.ts";
import type { PlainSplit } from "./split-scores.ts";
import { type PlainSplitHost, PlainSplitLoops } from "./split-emit.ts";
import type { WarpSpecialized } from "./warp-specialize.ts";
import { type WsHost, emitWarpSpecialized } from "./ws-emit.ts";

export class CudaEmitter extends CudaKernelView {
  /** The operand tiles' copies: issued early, in flight, arrived (tile-copies.ts). */
  private readonly copies: TileCopies;
  private prefetchAfter = new Map<Inst, Prefetch[]>();
  private prefetchBefore = new Map<Inst, Prefetch[]>();
  /** Multi-buffered tiles by the loop body whose top starts their next copy. */
  private prefetchTop = new Map<Block, Prefetch[]>();
  /** Loops whose scores run a tile ahead (rotate.ts, rotate-emit.ts). */
  private readonly rotated: RotatedLoops;
  /** Loops under the leader schedule (leader.ts, leader-emit.ts). */
  private readonly leaders: LeaderLoops;
  /** Does a leader loop order its groups by named barriers (leader-emit.ts; its helpers are then needed)? */
  readonly pairedLeaders: boolean;
  /** Loops whose next tile's scores run beside this tile's P·V on sm_90a (overlap.ts, overlap-emit.ts). */
  private readonly overlapped: OverlapLoops;
  /** Plain loops whose scores read K's staged bytes on sm_90a (split-scores.ts, split-emit.ts). */
  private readonly plainSplits: PlainSplitLoops;
  private readonly heaviestFirst: Set<number>;
  /** A wgmma dot committed without a wait, its wait emitted by a leader loop's other groups (leader-emit.ts). */
  private deferredDot: Value | undefined;
  /** Staged E4M3 copies whose one reader is the widened tile (plan.staged): waited for where it is filled. */
  private readonly widenedOnly: Set<Value>;
  /** Row sums carried as each lane's part through their loops (lazy-sums.ts); set before emitBody. */
  lazy: LazySums;
  /**
   * Values of the bodies of the leader loops that keep a block barrier a tile (not those whose
   * groups order themselves by named barriers, leader-emit.ts): their row maxes keep one chain
   * (tile-emit.ts).
   */
  private readonly inLeaderLoops: Set<Value>;

  constructor(
    ir: KernelIR,
    plan: CudaPlan,
    layout: ThreadLayout,
    shared: SharedLayout & { issueBefore: Map<Inst, Value[]> },
    prefetch: Prefetch[] = [],
    /** Where k-split dots exchange partial sums: past every operand region. */
    private readonly exchangeAt = 0,
    rotations = new Map<ForInst, Rotation>(),
    /** One exchange buffer's bytes (a rotated loop alternates two). */
    exchangeSize = 0,
    leaders = new Map<ForInst, LeaderLoop>(),
    /** Where the leader loops publish (1024-byte aligned, past every other region). */
    leaderAt = 0,
    /** Prefetched tiles that TMA copies on sm_90a (tma.ts). */
    private readonly tma: TmaCopy[] = [],
    /** Tiles of one-buffer loops that TMA copies on sm_90a (tma-stream.ts). */
    private readonly streams: TmaStream[] = [],
    overlaps = new Map<ForInst, Overlap>(),
    /** Plain loops whose scores read K's staged bytes on sm_90a (split-scores.ts). */
    plainSplits = new Map<ForInst, PlainSplit>(),
    /** A producer warpgroup and consumer ones (warp-specialize.ts): its loops are in `overlaps`. */
    private readonly ws?: WarpSpecialized,
  ) {
    super(ir, plan, layout, shared);
    this.plainSplits = new PlainSplitLoops(this.plainSplitHost(), plainSplits);
    for (const v of this.plainSplits.stagedTiles()) this.swizzledBytes.add(v);
    this.copies = new TileCopies(this, this.doubled, tma, streams);
    this.rotated = new RotatedLoops(this, rotations, exchangeAt, exchangeSize);
    this.overlapped = new OverlapLoops(this.overlapHost(), overlaps);
    this.heaviestFirst = heaviestFirstAxes(ir);
    this.widenedOnly = new Set([...plan.staged.values()].filter((src) => plan.uses.get(src) === 1));
    for (const p of prefetch) {
      if (p.after) this.prefetchAfter.set(p.after, [...(this.prefetchAfter.get(p.after) ?? []), p]);
      else this.prefetchTop.set(p.loop.body, [...(this.prefetchTop.get(p.loop.body) ?? []), p]);
      if (p.stages > 1) this.doubled.set(p.v, p);
      this.prefetchBefore.set(p.loop, [...(this.prefetchBefore.get(p.loop) ?? []), p]);
    }
    // Leader loops whose every tile (but the first) lands as one TMA box a 64-column block order
    // their groups by named barriers (leader-emit.ts); the others keep a block barrier a tile.
    const paired = new Set(
      [...leaders.keys()].filter((f) => {
        const top = this.prefetchTop.get(f.body) ?? [];
        return top.length > 0 && top.every((p) => wholeBoxes(tma, p));
      }),
    );
    this.leaders = new LeaderLoops(this.leaderHost(), leaders, leaderAt, paired);
    this.pairedLeaders = paired.size > 0;
    this.lazy = lazySums(ir.body, plan.uses, (f) => leaders.has(f));
    this.inLeaderLoops = definedIn([...leaders.keys()].filter((f) => !paired.has(f)));
  }


  // ---- the kernel ---------------------------------------------------------------------------

  emitBody(): string[] {
    for (const l of preamble(this.ir, this.plan, this.tma, this.streams, this.overlapped.bars())) this.line(l);
    if (this.ws) emitWarpSpecialized(this.wsHost(), this.ws, this.ir.body);
    else this.block(this.ir.body);
    return this.out;
  }

  protected block(b: Block): void {
    const top = this.prefetchTop.get(b) ?? [];
    const rot = this.rotated.ofBody(b);
    const lead = this.leaders.ofBody(b);
    if (lead) return this.leaders.body(lead, top);
    if (rot) this.rotated.top(rot, top);
    else if (top.length) {
      const iv = this.name(top[0].loop.iv);
      this.barrier(`every warp is done with the other buffer of ${top.map((p) => this.name(p.v)).join(", ")}`);
      // The copies go to the other buffers: this iteration's tiles stay arrived.
      for (const p of top) this.issueAhead(p, `(${iv} + 1)`, `${iv} + 1 < ${this.scalar(p.loop.hi)}`, true);
    }
    for (const inst of b.insts) this.inst(inst);
  }

  private inst(inst: Inst): void {
    const issues = this.shared.issueBefore.get(inst) ?? [];
    if (issues.length) {
      this.barrier("the previous iteration's readers are done with these tiles");
      for (const v of issues) this.copies.issue(v);
    }
    for (const v of this.shared.fillBefore.get(inst) ?? []) {
      if (this.copies.hasArrived(v)) continue;
      // An E4M3 copy read only through its widened tile, at that tile's fill (fill, below): its
      // cast comes before the softmax in the body, the widening right before P·V.
      if (this.copies.inFlight(v) && this.widenedOnly.has(v)) continue;
      if (this.copies.inFlight(v)) this.copies.complete(v);
      else this.fill(v);
    }
    switch (inst.kind) {
      case "def":
        this.def(inst.value);
        break;
      case "store":
        this.origin(inst.span);
        emitStore(this.tileHost(), inst);
        break;
      case "for": {
        const ahead = this.prefetchBefore.get(inst) ?? [];
        const rot = this.rotated.ofLoop(inst);
        if (rot) this.rotated.prologue(rot, ahead);
        else if (ahead.length) {
          this.barrier("the tiles' shared memory is free");
          for (const p of ahead) this.issueAhead(p, this.scalar(inst.lo), `${this.scalar(inst.lo)} < ${this.scalar(inst.hi)}`);
        }
        this.forLoop(inst);
        for (const r of this.lazy.combineAfter.get(inst) ?? []) emitRowCombine(this.tileHost(), r);
        // The last iteration issued nothing (its group is empty): nothing left to wait for.
        this.copies.loopDone(ahead);
        if (rot) this.rotated.epilogue(rot);
        const lead = this.leaders.ofLoop(inst);
        if (lead) this.leaders.epilogue(lead);
        break;
      }
      case "if":
        this.ifInst(inst);
        break;
      case "return":
        this.origin(inst.span);
        this.line("return;");
        break;
    }
    for (const p of this.prefetchAfter.get(inst) ?? []) {
      const iv = this.name(p.loop.iv);
      this.copies.freeingBarrier(`every warp is done with ${this.name(p.v)}; its next tile can stream in`);
      this.issueAhead(p, `(${iv} + 1)`, `${iv} + 1 < ${this.scalar(p.loop.hi)}`);
    }
  }

  // ---- what the loops whose scores run a tile ahead need (rotate-emit.ts) ----------------

  settled(tiles: Value[], waited: Value[] | "all"): void {
    this.copies.settled(tiles, waited);
  }
  protected loopEntry(f: ForInst): void {
    this.rotated.entry(f);
  }

  // ---- what the leader loops need (leader-emit.ts) ----------------------------------------

  /** A leader loop's body emits its own yields, in each group's branch. */
  protected loopBody(f: ForInst): void {
    if (this.leaders.ofLoop(f)) this.block(f.body);
    else super.loopBody(f);
  }
  /** A leader loop is emitted twice, one version per group (its loop unswitched on the group). */
  protected loopVersions(f: ForInst, emit: () => void): void {
    const ov = this.overlapped.ofLoop(f);
    // A warp-specialized kernel's loops are the consumers' (the whole kernel is sm_90a's).
    if (ov?.ws) return this.overlapped.emit(ov);
    if (ov) return hopperOnly(this, () => this.overlapped.emit(ov), emit);
    const ps = this.plainSplits.ofLoop(f);
    if (ps) return this.plainSplits.emit(ps, emit);
    const lead = this.leaders.ofLoop(f);
    if (!lead) return emit();
    this.leaders.versions(lead, emit, this.copies.saved());
  }
  /** What every specially scheduled loop's code reads of the emitter. */
  private loopBasics() {
    return {
      plan: this.plan,
      line: (s: string) => this.line(s),
      enter: () => this.enter(),
      leave: () => this.leave(),
      name: (v: Value) => this.name(v),
      scalarOf: (v: Value) => this.scalar(v),
      registers: (shape: number[]) => this.layout.registers(shape),
      owned: (shape: number[], body: (site: Site) => void) => this.owned(shape, body),
      yieldTo: (t: Value[], y: Value[], set: Set<Value>) => this.yieldTo(t, y, set),
    };
  }
  leaderHost(): LeaderHost {
    return {
      ...this.loopBasics(),
      siteAt: (mt: string, h: string, nt: string, p: string) => (this.layout as MmaLayout).site(`(${mt})`, `(${h})`, `(${nt})`, `(${p})`),
      elemAt: (v: Value, site: Site) => elem(this, v, site),
      tileOffset: (v: Value, r: Region, row: string, col: string) => tileAt(r, v, true, row, col),
      emitInst: (inst: Inst) => this.inst(inst),
      barrier: (why: string, all?: boolean, sm90When?: string) => this.barrier(why, all, sm90When),
      asyncFence: () => this.asyncFence(),
      issueAhead: (p: Prefetch, index: string, guard: string, otherBuffer?: boolean, team?: CopyTeam | "none") => this.issueAhead(p, index, guard, otherBuffer, team),
      readShared: (tiles: Map<Value, Region>) => this.readShared(tiles),
      boxWait: (p: Prefetch, iv: string, lo: string) => emitBoxWait(this, this.tma, p, iv, lo),
      deferDot: (v: Value | undefined) => {
        this.deferredDot = v;
      },
      widenStaged: (p: Prefetch, index: string, team: CopyTeam) => this.renamed([[p.loop.iv, index]], () => widenInPlace(this, p.v, this.region(p.v)!, team, "copy_team_sync();")),
    };
  }

  // ---- what the plain split loops need (split-emit.ts) ----------------------------------

  plainSplitHost(): PlainSplitHost {
    const settle = (v: Value) => {
      if (this.copies.inFlight(v)) this.copies.complete(v);
    };
    return { ...this.overlapHost(), settle };
  }

  // ---- what the overlapped loops need (overlap-emit.ts) -----------------------------------

  overlapHost(): OverlapHost {
    return {
      ...this.loopBasics(),
      offset: (t: string, i: string[]) => this.offset(t, i),
      at: (v: Value, r: Region, row: string, col: string) => this.at(v, r, row, col),
      align: (tensor: string, bytes: number) => this.align(tensor, bytes),
      dotHost: () => this.dotHost(),
      region: (v: Value) => this.region(v),
      renamed: (pairs: [Value, string][], body: () => void) => this.renamed(pairs, body),
      withRegion: (v: Value, r: Region, body: () => void) => {
        const saved = this.sharedOverride;
        this.sharedOverride = new Map([...saved, [v, r]]);
        body();
        this.sharedOverride = saved;
      },
      defValue: (v: Value) => this.def(v),
      withBound: (v: Value, at: (site: Site) => string, body: () => void) => this.withBound(v, at, body),
      widen: (w: Value, into: Region, staged: Value, from: Region) => {
        widenStaged(this, w, into, staged, from, "hopper");
        this.asyncFence();
        this.line("__syncthreads();");
      },
      inPlace: (dot: Value, sum: Value, carried: Value) => {
        this.names.set(dot, this.name(carried));
        this.names.set(sum, this.name(carried));
        this.fusedSums.add(sum);
      },
    };
  }

  // ---- what the warp-specialized roles need (ws-emit.ts) ----------------------------------

  private wsHost(): WsHost {
    return {
      ...this.overlapHost(),
      defScalar: (v: Value) => this.def(v),
      guard: (i) => this.ifInst(i),
      consumerBody: () => this.block(this.ir.body),
      mark: () => this.out.length,
      rewrite: (from: number, f: (line: string) => string) => {
        for (let i = from; i < this.out.length; i++) this.out[i] = f(this.out[i]);
      },
    };
  }

  // ---- what the operand copies need (tile-copies.ts) ----------------------------------------

  barrier(why: string, all = false, sm90When?: string): void {
    this.copies.barrier(why, all, sm90When);
  }
  issueAhead(p: Prefetch, index: string, guard: string, otherBuffer = false, team?: CopyTeam | "none"): void {
    this.copies.issueAhead(p, index, guard, otherBuffer, team);
  }
  inLoop(f: ForInst): boolean {
    return this.loops.includes(f);
  }
  previousLine(): string | undefined {
    return this.out[this.out.length - 1];
  }
  batched(f: ForInst): boolean {
    return !!this.rotated.ofLoop(f) || !!this.leaders.ofLoop(f);
  }

  private def(v: Value): void {
    const op = v.op;
    const layout = this.plan.layout.get(v);
    if (op.kind === "const" || op.kind === "arg" || op.kind === "dim" || layout === "view") return;
    // A sum a dot accumulated into in place already holds its value in the dot's registers.
    if (this.fusedSums.has(v)) return;
    this.origin(v.span);
    if (layout === "uniform") {
      if (op.kind === "program_id") this.line(`const int ${this.name(v)} = (int)${blockIndex(op.axis, this.heaviestFirst)};`);
      else this.line(`const ${regType(v.type.dtype)} ${this.name(v)} = ${opExpr(this, v, position("0", "0"))};`);
    } else if (layout === "regs") {
      if (op.kind === "dot") {
        const fused = this.plan.accumulateInto.get(v);
        const rot = this.loops.length ? this.rotated.ofBody(this.loops[this.loops.length - 1].body) : undefined;
        if (fused) {
          // The accumulator starts from the addend, then mma adds A·B onto it. When the sum is
          // the next value of a loop-carried tile that only the addend reads (acc = acc * alpha
          // + P·V), it is updated in place: no second accumulator, as in FlashAttention-2.
          const carried = this.inPlaceTarget(fused.sum, fused.addend);
          // An addend that is itself a dot read only here lends its registers as they are.
          const lent = !carried && fused.addend.op.kind === "dot" && this.plan.uses.get(fused.addend) === 1 && fused.addend.type.shape.join() === v.type.shape.join();
          if (carried) this.names.set(v, this.name(carried));
          else if (lent) this.names.set(v, this.name(fused.addend));
          else this.line(`float ${this.name(v)}[${this.layout.registers(v.type.shape)}];`);
          if (carried && rot?.deferred?.dot === v) this.rotated.awaitDeferred(rot);
          if (!lent) this.owned(v.type.shape, (site) => this.line(`${this.name(v)}[${site.slot(v.type.shape)}] = ${elem(this, fused.addend, site)};`));
          this.names.set(fused.sum, this.name(v));
          this.fusedSums.add(fused.sum);
        }
        if (rot?.dots.includes(v)) {
          // Issued a tile ago and exchanged at this tile's top: the first reads the sums.
          if (v === rot.dots[0]) this.rotated.scores(rot);
          return;
        }
        const exchange = this.plan.kSplit.has(v) ? this.exchangeAt : undefined;
        const defer = rot?.deferred?.dot === v ? "in the next tile, right before the rescale, or after the loop" : this.deferredDot === v ? "after this group's share of the widening below" : undefined;
        const steps = this.plainSplits.steps(this.loops[this.loops.length - 1], v);
        if (this.plan.wgmma.has(v)) emitWgmmaDot(this.dotHost(), this.dotPlan, v, !!fused, exchange, defer, steps);
        else emitDot(this.dotHost(), v, this.plan.shape as MmaShape, this.plan.cachedFragments, this.dotPlan.sharedOperands.has(op.a), !!fused, exchange, true, this.rawBOf(op.b));
      }
      else if (op.kind === "reduce") emitReduce(this.tileHost(), v, this.lazy.reduces.has(v), this.inLeaderLoops.has(v));
      else {
        this.line(`${regType(v.type.dtype)} ${this.name(v)}[${this.layout.registers(v.type.shape)}];`);
        this.owned(v.type.shape, (site) => this.line(`${this.name(v)}[${site.slot(v.type.shape)}] = ${opExpr(this, v, site)};`));
      }
    }
    if (this.plan.sharedOperands.has(v) && !anywhere(this.plan, v)) this.fill(v);
  }


  /** The carried tile a sum may overwrite: the sum is its next value and only `addend` reads it. */
  private inPlaceTarget(sum: Value, addend: Value): Value | undefined {
    const loop = this.loops[this.loops.length - 1];
    if (!loop) return undefined;
    const k = loop.yields.indexOf(sum);
    if (k < 0 || this.plan.uses.get(sum) !== 1) return undefined;
    const c = loop.carried[k];
    return this.plan.uses.get(c) === 1 && readsInline(this.plan, addend, c) ? c : undefined;
  }

  /** Tile v is in shared memory, visible to every thread: what is done with it once. */
  landed(v: Value): void {
    if (this.plan.permutedK.has(v)) permuteKeyOrder(this.dotHost(), v, this.plan.shape.threads);
    if (this.plan.cachedFragments.has(v)) cacheFragments(this.dotHost(), v, this.plan.shape as MmaShape);
  }

  /** Is t a widened tile whose dots read its staged E4M3 copy in registers (fp8-keys.ts, fp8-values.ts)? */
  private readInRegisters(t: Value): boolean {
    return this.plan.rawKeys.has(t) || this.plan.rawValues.has(t);
  }

  /** The staged E4M3 copy a dot's B operand (K^T or V) is read from in registers, if it is. */
  private rawBOf(b: Value): Region | undefined {
    const t = b.op.kind === "transpose" ? b.op.a : b;
    return this.readInRegisters(t) ? this.region(this.plan.staged.get(t)!) : undefined;
  }

  /** Copy a dot operand into shared memory: 16-byte cp.async chunks when its rows are contiguous. */
  private fill(v: Value): void {
    // A tile from a staged E4M3 copy needs that copy landed (it may still be in flight after a
    // freeing barrier); the barrier that publishes it also frees the tile's own region.
    const src = this.plan.staged.get(v);
    const published = src !== undefined && this.copies.inFlight(src);
    if (published) this.copies.complete(src);
    // Read in registers from that copy: nothing to write.
    if (this.readInRegisters(v)) return;
    const r = this.region(v);
    if (!r) return;
    if (!published) this.line("__syncthreads();");
    if (anywhere(this.plan, v) && copiedLoad(this.plan, v)) {
      copyChunks(this, v, r);
      this.line("cp_async_wait_all();");
    } else if (src) this.plainSplits.widen(v, (only) => widenStaged(this, v, r, src, this.region(src)!, only));
    else storeElements(this, v, r, this.plan.shape.threads, anywhere(this.plan, v) ? undefined : (body) => this.owned(v.type.shape, body));
    this.asyncFence();
    this.line("__syncthreads();");
    this.landed(v);
  }

}
