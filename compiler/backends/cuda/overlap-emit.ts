// The sm_90a code of a loop whose next tile's scores run beside this tile's P·V (overlap.ts
// decides which). K(lo) is issued before the loop as for every one-buffer loop; then:
//
//   V(lo), V(lo + 1) issued (V(t) into buffer t & 1); S(lo) = Q·K(lo)^T, waited for; K(lo + 1) issued; softmax -> P(lo)
//   for each tile j but the last:
//     issue S(j + 1) = Q·K(j + 1)^T; issue O += P(j)·V(j)
//     wait for S(j + 1) alone; K(j + 2) issued into K's one buffer
//     softmax(S(j + 1)) -> P(j + 1)            (beside P(j)·V(j) on the tensor cores)
//     wait for P·V; V(j + 2) issued into V(j)'s buffer; O *= alpha(j + 1)
//   issue O += P(last)·V(last), waited for
//
// ptxas serializes every wgmma of a kernel (its C7513 and C7514 notes) when an instruction
// defines or reads a running wgmma's registers, and it cannot tell a loop's copies apart: so P
// lives in two register sets taken in turn (the loop runs two tiles an iteration), nothing writes
// a scores accumulator but its dots, and the copies issued while P·V runs are predicated, not
// branched on. Where P·V's accumulator is at most 64 columns wide (overlap.ts's onePSet), P
// has one set instead, packed once the P·V reading it is done (as FlashAttention 3 does), and
// the loop runs a tile an iteration.
// The kernel emitter (emit.ts) hosts it; other architectures run the plain loop.
//
// In a warp-specialized kernel (warp-specialize.ts) the loop is a consumer's: it copies nothing.
// Tile t's K and V are in stage (t's count since the kernel's first tile) & 1 of the producer's,
// waited for on their full mbarriers; where this order would copy K(t + 1) (V(t + 1)), K(t - 1)
// (V(t - 1)) has been read, and each thread arrives on its stage's empty mbarrier instead; no
// block barrier. The groups take turns issuing their wgmmas (ws-emit.ts, turnBegin / turnEnd).
// The consumers' loops are one pipeline: a loop leaves its last tile's P·V pending (ws_pending,
// P in the one set `pa`), the next loop that runs issues it beside its first tile's scores, and
// after the last loop it is issued alone; so a causal kernel's diagonal tile does not wait for
// the tensor cores to drain (short sequences are mostly loop ends).
import { type ForInst, type Value, operands } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { CopyHost } from "./copy-emit.ts";
import { elem } from "./elements.ts";
import type { Site } from "./layouts.ts";
import { type DotEmitter, packFragment } from "./mma.ts";
import { type Overlap, onePSet } from "./overlap.ts";
import type { CudaPlan } from "./plan.ts";
import { emitQuerySplit, emitSplitSteps, rowFactor } from "./split-scores.ts";
import { issueTile } from "./overlap-copy.ts";
import { type WsStages, wsBar, wsStageRegion } from "./warp-specialize.ts";
import { gatheredFence, turnBegin, turnEnd, turnsEnd, turnsStart } from "./ws-emit.ts";
import { regFences, wgmmaComment, wgmmaSteps } from "./wgmma.ts";

/** What the schedule's code needs of the kernel emitter. */
export interface OverlapHost extends CopyHost {
  readonly plan: CudaPlan;
  name(v: Value): string;
  scalarOf(v: Value): string;
  registers(shape: number[]): number;
  dotHost(): DotEmitter;
  owned(shape: number[], body: (site: Site) => void): void;
  region(v: Value): Region | undefined;
  /** Emit with each value named as given (a loop index as another's), then restore the names. */
  renamed(pairs: [Value, string][], body: () => void): void;
  /** Emit with tile v read from region r (V's other buffer). */
  withRegion(v: Value, r: Region, body: () => void): void;
  /** Emit the definition of a body value as the plain loop does. */
  defValue(v: Value): void;
  /** Emit with value v given at each element's site by `at` (elements.ts's bound), then drop it. */
  withBound(v: Value, at: (site: Site) => string, body: () => void): void;
  /** Widen staged E4M3 tile `staged` (in region `from`) into 16-bit tile w's region `into` (copy-emit.ts, widenStaged), fenced for wgmma. */
  widen(w: Value, into: Region, staged: Value, from: Region): void;
  /** The dot's sum lives in the carried tile's registers (updated in place). */
  inPlace(dot: Value, sum: Value, carried: Value): void;
  yieldTo(targets: Value[], yields: Value[], targetSet: Set<Value>): void;
}

/** The kernel's last tile, after the consumers' last loop (its count: ws_tiles - 1). */
const LAST = "last";
const tileName = (t: string) => (t === LAST ? "the last tile" : `tile ${t}`);

export class OverlapLoops {
  /** The variable holding the count of the loop's first tile less its index (warp-specialized consumers). */
  private from = "";

  constructor(
    private readonly host: OverlapHost,
    private readonly loops: Map<ForInst, Overlap>,
  ) {}

  ofLoop(f: ForInst): Overlap | undefined {
    return this.loops.get(f);
  }

  /** The mbarriers of the second V buffers (initialized with the streams'). */
  bars(): number[] {
    return [...this.loops.values()].map((o) => o.bar2);
  }

  /** The loop's sm_90a code (the caller wraps it in the architecture test). */
  emit(o: Overlap): void {
    const h = this.host;
    const sp = o.split;
    if (!sp) return this.emitLoop(o);
    // The scores read K's bytes (split-scores.ts): the query split before the loop; within it the
    // scale of the scores is taken a row, times the row's 1/s.
    const scale = h.scalarOf(sp.scale);
    h.withBound(sp.scale, rowFactor(h, o.scores), () => this.emitLoop(o, () => emitQuerySplit(h, o.scores, sp, scale)));
  }

  private emitLoop(o: Overlap, before?: () => void): void {
    const h = this.host;
    const f = o.loop;
    const [lo, hi] = [h.scalarOf(f.lo), h.scalarOf(f.hi)];
    const iv = h.name(f.iv);
    const ks = (o.pv.op as Extract<Value["op"], { kind: "dot" }>).a.type.shape[1] / 16;
    const one = onePSet(o);
    const ws = o.ws;
    // The index is renamed while a tile's code is emitted: the count's base keeps the loop's name.
    this.from = `${iv}_from`;
    const wsLoops = [...this.loops.values()].filter((x) => x.ws);
    if (ws && wsLoops[0] === o) this.wsStart(ks);
    if (ws) h.line(`const int ${this.from} = ws_tiles - ${lo}; // tile t's stage: (${this.from} + t) & 1 (warp-specialize.ts)`);
    // The consumers' turns run as one ring through all the loops: restarted a loop, a group
    // could arrive twice on a barrier before the next group took its turn (a hang on the H200).
    if (ws && wsLoops[0] === o) turnsStart(h, ws);
    h.line(`// ${ws ? "K and V from the producer's stages" : "whole tiles"}: the next tile's scores issued before this tile's P·V, run beside its softmax (overlap.ts)`);
    h.line(`if (${lo} < ${hi}) {`);
    h.enter();
    // (A consumer's P, pending across its loops, is declared before the first: wsStart.)
    if (!ws) h.line(one ? `uint32_t pa[${ks}][4]; // P of a tile, packed for P·V once the P·V before it is done` : `uint32_t pa[${ks}][4], pb[${ks}][4]; // P of a tile, packed for P·V: two sets taken in turn`);
    before?.();
    if (!ws) {
      this.copyV(o, lo, `${lo} < ${hi}`);
      this.copyV(o, `(${lo} + 1)`, `${lo} + 1 < ${hi}`);
    }
    // A consumer loop after one that ran starts with that loop's last tile, its P·V pending: its
    // first iteration issues tile lo's scores beside it, as every other iteration does.
    h.line(ws ? "if (!ws_pending) { // the first tile of the kernel's loops: its scores alone" : "{");
    h.enter();
    h.renamed([[f.iv, lo]], () => {
      this.pre(o);
      this.scores(o, lo);
      if (ws) turnEnd(h, ws);
      h.line("wgmma_wait<0>();");
      this.fence(o.scores);
    });
    if (ws) this.release(o, "emptyK", lo);
    else {
      h.line(`__syncthreads(); // every warp is done with ${h.name(o.k.v)}`);
      this.copyK(o, `(${lo} + 1)`, `${lo} + 1 < ${hi}`);
    }
    h.renamed([[f.iv, lo]], () => this.softmax(o, "pa"));
    h.leave();
    h.line("}");
    h.line(ws ? `int ${iv} = ws_pending ? ${lo} - 1 : ${lo}; // tile ${lo} - 1: the loop before's last` : `int ${iv} = ${lo};`);
    if (one) {
      h.line(`for (; ${iv} + 1 < ${hi}; ++${iv}) {`);
      h.enter();
      this.step(o, iv, "pa", "pa");
      h.leave();
      h.line("}");
      if (!ws) this.pv(o, iv, "pa");
    } else this.pairs(o, iv, hi);
    if (ws) h.line("ws_pending = true; // tile hi - 1's P·V: beside the next loop's first scores, or after the last loop");
    else {
      h.line("wgmma_wait<0>();");
      this.fence(o.carried);
    }
    h.leave();
    h.line("}");
    if (ws) h.line(`ws_tiles += max(0, ${hi} - ${lo});`);
    if (ws && wsLoops[wsLoops.length - 1] === o) this.wsEnd(o);
  }

  /** Before the consumers' first loop: P's register set and the pending flag, for every loop. */
  private wsStart(ks: number): void {
    this.host.line(`uint32_t pa[${ks}][4]; // P of a tile, packed for P·V once the P·V before it is done (every loop's)`);
    this.host.line("bool ws_pending = false; // a tile's P·V waits for the next tile's scores, over the loops");
  }

  /** After the consumers' last loop: the last tile's P·V, then the ring's last turn. */
  private wsEnd(o: Overlap): void {
    const h = this.host;
    h.line("if (ws_pending) { // the last tile's P·V, pending since its loop");
    h.enter();
    this.pv(o, LAST, "pa");
    h.line("wgmma_wait<0>();");
    this.fence(o.carried);
    this.release(o, "emptyV", LAST);
    h.leave();
    h.line("}");
    turnsEnd(h, o.ws!);
  }

  /** A consumer thread is done reading tile t's K or V (a wgmma it waited for): its arrival on the stage's empty mbarrier. */
  private release(o: Overlap, which: "emptyK" | "emptyV", t: string): void {
    const ws = o.ws!;
    const tile = which === "emptyK" ? o.k.v : o.v.v;
    this.host.line(`mbar_arrive(${wsBar(ws, which, this.stage(o, t))}); // ${this.host.name(tile)} of ${tileName(t)} read: its stage may be refilled`);
  }

  /** Tile t's count since the kernel's first tile (warp-specialized consumers: its stage is the count's parity). */
  private count(t: string): string {
    return t === LAST ? "(ws_tiles - 1)" : `(${this.from} + ${t})`;
  }
  private stage(o: Overlap, t: string): string {
    return `${this.count(t)} & 1`;
  }
  /** The phase of tile t's stage: the stage's uses before it, (count / 2) & 1. */
  private phase(o: Overlap, t: string): string {
    return `(${this.count(t)} >> 1) & 1`;
  }
  /** The loop over tiles, two an iteration (P's two sets taken in turn), and its last one or two. */
  private pairs(o: Overlap, iv: string, hi: string): void {
    const h = this.host;
    h.line(`for (; ${iv} + 2 < ${hi}; ${iv} += 2) {`);
    h.enter();
    this.step(o, iv, "pa", "pb");
    this.step(o, `(${iv} + 1)`, "pb", "pa");
    h.leave();
    h.line("}");
    h.line(`if (${iv} + 1 < ${hi}) {`);
    h.enter();
    this.step(o, iv, "pa", "pb");
    this.pv(o, `(${iv} + 1)`, "pb");
    h.leave();
    h.line("} else {");
    h.enter();
    this.pv(o, iv, "pa");
    h.leave();
    h.line("}");
  }

  /**
   * Tile j's P·V (P in `pin`) beside tile j + 1's scores and softmax (P into `pout`, the same set
   * packed once P·V is done), one scope.
   */
  private step(o: Overlap, j: string, pin: string, pout: string): void {
    const h = this.host;
    const f = o.loop;
    const next = `(${j} + 1)`;
    h.line("{");
    h.enter();
    const ws = o.ws;
    h.renamed([[f.iv, next]], () => {
      this.pre(o);
      this.scores(o, next);
    });
    this.pv(o, j, pin);
    if (ws) turnEnd(h, ws);
    h.line(`wgmma_wait<1>(); // the scores of tile ${next} (P·V still running)`);
    this.fence(o.scores);
    if (ws) this.release(o, "emptyK", next);
    else {
      h.line(`__syncthreads(); // every warp is done with ${h.name(o.k.v)}`);
      this.copyK(o, `(${j} + 2)`, `${j} + 2 < ${h.scalarOf(f.hi)}`);
    }
    h.renamed([[f.iv, next]], () => this.softmax(o, pout, () => {
      h.line(`wgmma_wait<0>(); // P·V of tile ${j}`);
      this.fence(o.carried);
      if (ws) return this.release(o, "emptyV", j);
      h.line(`__syncthreads(); // every warp is done with this buffer of ${h.name(o.v.v)}`);
      this.copyV(o, `(${j} + 2)`, `${j} + 2 < ${h.scalarOf(f.hi)}`);
    }));
    h.leave();
    h.line("}");
  }

  /**
   * The body's values before the scores that the softmax and P·V read (the tile's scalars), for
   * the index in place; those only the tiles' addresses read are recomputed by each copy.
   */
  private pre(o: Overlap): void {
    const insts = o.loop.body.insts.flatMap((i) => (i.kind === "def" ? [i.value] : []));
    const before = new Set(insts.slice(0, insts.indexOf(o.scores)));
    const read = new Set<Value>();
    const walk = (v: Value) => {
      for (const x of operands(v.op)) {
        if (read.has(x) || (x.op.kind === "load" && x.type.shape.length === 2) || this.host.plan.staged.has(x)) continue;
        read.add(x);
        walk(x);
      }
    };
    for (const v of insts.slice(insts.indexOf(o.scores) + 1)) walk(v);
    for (const y of o.loop.yields) walk(y);
    for (const v of before) if (read.has(v)) this.host.defValue(v);
  }

  /** Wait for K of tile t, then issue its scores into their accumulator (committed, not waited for). */
  private scores(o: Overlap, t: string): void {
    const h = this.host;
    const acc = h.name(o.scores);
    if (o.ws) return this.stagedScores(o, o.ws, t);
    h.line(`mbar_wait(smem + ${o.k.bar}, (${t} - ${h.scalarOf(o.loop.lo)}) & 1); // ${h.name(o.k.v)}'s boxes landed`);
    // Its widened tile is free: the scores before it were waited for, then a barrier.
    if (o.kWide && !o.split) h.widen(o.kWide, h.region(o.kWide)!, o.k.v, h.region(o.k.v)!);
    h.line(`float ${acc}[${h.registers(o.scores.type.shape)}]; // written by the first wgmma (scale-d 0)`);
    h.line("wgmma_fence();");
    if (o.split) emitSplitSteps(h, o.scores, o.k.v, o.split, acc);
    else {
      h.line(wgmmaComment(h.plan, o.scores, acc, false));
      wgmmaSteps(h.dotHost(), h.plan, o.scores, acc, false, true);
    }
    h.line("wgmma_commit();");
  }

  /** A consumer's scores of tile t: K's stage waited for, then (on its turn) the wgmmas issued, committed. */
  private stagedScores(o: Overlap, ws: WsStages, t: string): void {
    const h = this.host;
    const acc = h.name(o.scores);
    h.line(`mbar_wait(${wsBar(ws, "fullK", this.stage(o, t))}, ${this.phase(o, t)}); // ${h.name(o.k.v)} of ${tileName(t)} in its stage`);
    gatheredFence(h, ws);
    h.line(`float ${acc}[${h.registers(o.scores.type.shape)}]; // written by the first wgmma (scale-d 0)`);
    turnBegin(h, ws);
    h.line("wgmma_fence();");
    h.line(wgmmaComment(h.plan, o.scores, acc, false));
    h.withRegion(o.k.v, wsStageRegion(ws, "K", `(${this.stage(o, t)})`, o.k.v), () => wgmmaSteps(h.dotHost(), h.plan, o.scores, acc, false, true));
    h.line("wgmma_commit();");
  }

  /**
   * The softmax of the index in place: the body's values between the dots, P packed into
   * `into` (with one set, after `before`); then (after `before`, the wait for the P·V still
   * running) the carried accumulator rescaled and the other carried values updated.
   */
  private softmax(o: Overlap, into: string, before?: () => void): void {
    const h = this.host;
    const f = o.loop;
    const insts = f.body.insts;
    const from = insts.findIndex((i) => i.kind === "def" && i.value === o.scores);
    for (const i of insts.slice(from + 1)) {
      if (i.kind !== "def" || i.value === o.pv) break;
      if (!h.plan.staged.has(i.value)) h.defValue(i.value);
    }
    const op = o.pv.op as Extract<Value["op"], { kind: "dot" }>;
    const dt = op.a.type.dtype === "f16" ? "f16" : "bf16";
    const pack = () => {
      h.line("#pragma unroll");
      h.line(`for (int kk = 0; kk < ${op.a.type.shape[1] / 16}; ++kk) {`);
      h.enter();
      packFragment(h.dotHost(), op.a, dt, "0", `${into}[kk]`);
      h.leave();
      h.line("}");
    };
    if (onePSet(o)) {
      before?.();
      pack();
    } else {
      pack();
      before?.();
    }
    const fused = h.plan.accumulateInto.get(o.pv)!;
    const carried = h.name(o.carried);
    h.owned(o.pv.type.shape, (site) => h.line(`${carried}[${site.slot(o.pv.type.shape)}] = ${elem(h, fused.addend, site)};`));
    h.inPlace(o.pv, fused.sum, o.carried);
    h.yieldTo(f.carried, f.yields, new Set(f.carried));
  }

  /** Wait for V of tile t, then issue its P·V (P in `pin`) into the carried accumulator, committed. */
  private pv(o: Overlap, t: string, pin: string): void {
    const h = this.host;
    const { bar, phase, region } = this.vBuffer(o, t);
    h.line(`mbar_wait(${o.ws ? bar : `smem + ${bar}`}, ${phase}); // ${h.name(o.v.v)}${o.ws ? ` of ${tileName(t)} in its stage` : "'s boxes landed"}`);
    if (o.ws) gatheredFence(h, o.ws);
    // V's widened tile (one, of its own) is free: the P·V before it was waited for, then a barrier.
    const [b, read] = o.vWide ? [o.vWide, { ...h.region(o.vWide)!, offset: `${o.vw}` }] : [o.v.v, region];
    if (o.vWide) h.widen(o.vWide, read, o.v.v, region);
    h.line("{");
    h.enter();
    h.line(`auto& af = ${pin};`);
    h.line("wgmma_fence();");
    h.line(wgmmaComment(h.plan, o.pv, h.name(o.carried), false));
    h.withRegion(b, read, () => wgmmaSteps(h.dotHost(), h.plan, o.pv, h.name(o.carried), false));
    h.line("wgmma_commit();");
    h.leave();
    h.line("}");
  }

  /**
   * V's buffer of tile t (its parity), its mbarrier and the phase its copy completes: tiles from
   * lo alternate buffers, so the uses of one before t's are (t - lo) / 2, rounded down.
   */
  private vBuffer(o: Overlap, t: string): { bar: string; phase: string; region: Region } {
    const h = this.host;
    if (o.ws) return { bar: wsBar(o.ws, "fullV", this.stage(o, t)), phase: this.phase(o, t), region: wsStageRegion(o.ws, "V", `(${this.stage(o, t)})`, o.v.v) };
    const k = `(${t} & 1)`;
    const r = h.region(o.v.v)!;
    return {
      bar: `(${k} ? ${o.bar2} : ${o.v.bar})`,
      phase: `((${t} - ${h.scalarOf(o.loop.lo)}) >> 1) & 1`,
      region: { ...r, offset: `(${k} ? ${o.v2} : ${r.offset})` },
    };
  }

  private copyK(o: Overlap, t: string, guard: string): void {
    issueTile(this.host, o, o.k, o.kDeps, t, guard, `${o.k.bar}`, this.host.region(o.k.v)!);
  }

  private copyV(o: Overlap, t: string, guard: string): void {
    const { bar, region } = this.vBuffer(o, t);
    issueTile(this.host, o, o.v, o.vDeps, t, guard, bar, region);
  }

  /** After a wait: the accumulator's registers are read (or rewritten) no earlier. */
  private fence(v: Value): void {
    this.host.line(regFences(this.host.name(v), this.host.registers(v.type.shape)));
  }
}
