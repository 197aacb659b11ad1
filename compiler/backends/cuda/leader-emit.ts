// The code of a loop under the leader schedule (leader.ts decides which), emitted once per group
// (the loop unswitched on `wcol`). At each tile's top one barrier: this tile's copies arrived,
// every warp done with the last tile. Group 0 then runs the whole body and, right before the
// first value the other groups read of it, writes P (packed pairs, swizzled) and the row vectors
// to shared memory and arrives on named barrier 1. The other groups copy the next tile (a team
// of their threads, so neither the page-table reads nor the cp.async issue sit on the leader's
// path), wait at barrier 1, read the row vectors into registers of the same names and run only
// their slices, their dot reading P from shared memory. Where the copies are E4M3 bytes staged
// for widening (plan.ts, converted), every group widens its share of them beside its own P·V
// slice. After the loop group 0 publishes the narrow values the loop carries, so every group
// holds the same row max and sum for the code after it. The kernel emitter (emit.ts) hosts it.
import type { Block, ForInst, Inst, Value } from "../../ir/ir.ts";
import { isFloat } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { CopyTeam } from "./copy-emit.ts";
import { hopperOnly } from "./hopper-only.ts";
import { regFences } from "./wgmma.ts";
import type { Site } from "./layouts.ts";
import { type LeaderLoop, leaderBytes } from "./leader.ts";
import type { LoopHost } from "./loop-host.ts";
import type { MmaShape } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";

/**
 * Named barriers over the block's threads, each arrived at by one side and waited at by the other:
 * 1 (group 0 has published), and where the tiles land on mbarriers as one TMA box a block (`body`),
 * 2 (the other groups are done with P) and 3 (group 0 is done with a tile's buffer).
 */
export const leaderHelpers = (threads: number, paired: boolean, team: number) => `// Named barrier 1: group 0 arrives once it has published a tile's P and row factors (release),
// the other groups wait for it (acquire); neither waits for the other's later work.
__device__ __forceinline__ void published_arrive() { asm volatile("bar.arrive 1, ${threads};\\n" ::: "memory"); }
__device__ __forceinline__ void published_wait() { asm volatile("bar.sync 1, ${threads};\\n" ::: "memory"); }${paired ? pairedHelpers(threads) : ""}${team ? teamHelpers(team) : ""}`;

const teamHelpers = (team: number) => `
// Named barrier 4: the threads that widen the E4M3 tiles the copying team staged (every group),
// once the copies landed and before each block that overwrites staged bytes (copy-emit.ts,
// widenInPlace).
__device__ __forceinline__ void copy_team_sync() { asm volatile("bar.sync 4, ${team};\\n" ::: "memory"); }`;

const pairedHelpers = (threads: number) => `
// Where each tile lands on an mbarrier as one TMA box a 64-column block, these order the groups
// instead of a block barrier a tile. 2: the other groups are done with P and the row factors
// (their P·V waited for), so group 0 may publish the next tile's. 3: group 0 is done with a
// tile's buffer (its scores and P·V), so the copy after next may go there.
__device__ __forceinline__ void p_free_arrive() { asm volatile("bar.arrive 2, ${threads};\\n" ::: "memory"); }
__device__ __forceinline__ void p_free_wait() { asm volatile("bar.sync 2, ${threads};\\n" ::: "memory"); }
__device__ __forceinline__ void buffer_read_arrive() { asm volatile("bar.arrive 3, ${threads};\\n" ::: "memory"); }
__device__ __forceinline__ void buffer_read_wait() { asm volatile("bar.sync 3, ${threads};\\n" ::: "memory"); }`;

/** What the leader loop's code needs of the kernel emitter, besides every special loop's (loop-host.ts). */
export interface LeaderHost extends LoopHost {
  /** Loops over the thread's elements of a tile of this shape (the accumulator layout). */
  owned(shape: number[], body: (site: Site) => void): void;
  siteAt(mt: string, h: string, nt: string, p: string): Site;
  elemAt(v: Value, site: Site): string;
  tileOffset(v: Value, r: Region, row: string, col: string): string;
  emitInst(inst: Inst): void;
  yieldTo(targets: Value[], yields: Value[], targetSet: Set<Value>): void;
  /** Dots read these tiles from shared memory at these regions (swizzled) until cleared. */
  readShared(tiles: Map<Value, Region>): void;
  /** Wait for tile `iv`'s TMA boxes of p.v where TMA copies it (tma.ts); nothing otherwise. */
  boxWait(p: Prefetch, iv: string, lo: string): void;
  /** Commit dot v's wgmma without waiting for it (the caller waits), or none (undefined). */
  deferDot(v: Value | undefined): void;
  /** Widen converted tile p.v's staged E4M3 copy for loop index `index` in place, by `team` (copy-emit.ts, widenInPlace). */
  widenStaged(p: Prefetch, index: string, team: CopyTeam): void;
}

/** The threads that copy a leader loop's tiles: the groups but the first. */
export const copyTeam = (s: MmaShape): CopyTeam => ({ threads: (s.WC - 1) * s.W * 32, tid: `(tid - ${s.W * 32})` });

/**
 * The threads that widen a leader loop's staged tiles: every group. The leader's share sits on
 * its path beside its own P·V slice, as the others' does beside theirs; with the copying group
 * alone widening, MLA over an fp8 cache ran 0.202 against 0.191 ms on an H200 (64 x 4096, page
 * 64; bench/experiments/mla_fp8_shared_widen_variant.py, docs/performance-history.md).
 */
export const widenTeam = (s: MmaShape): CopyTeam => ({ threads: s.WC * s.W * 32, tid: "tid" });

export class LeaderLoops {
  private readonly byBody = new Map<Block, LeaderLoop>();
  /** Which group's version of a leader loop is being emitted. */
  private role: 0 | 1 = 0;

  constructor(
    private readonly host: LeaderHost,
    private readonly loops: Map<ForInst, LeaderLoop>,
    /** Where the published tiles and row slots start (1024-byte aligned). */
    private readonly at: number,
    /** The loops whose groups order themselves by named barriers 2 and 3 (`body`). */
    private readonly paired: Set<ForInst>,
  ) {
    for (const l of loops.values()) this.byBody.set(l.loop.body, l);
  }

  ofLoop(f: ForInst): LeaderLoop | undefined {
    return this.loops.get(f);
  }

  private rowsAt(l: LeaderLoop, slot: number): string {
    const M = (this.host.plan.shape as MmaShape).M;
    return `reinterpret_cast<float*>(smem + ${this.at + leaderBytes(l, M).rows + slot * M * 4})`;
  }

  /** Row vectors (one float a row) into slots 0, 1, ..., from the quad's first lane. */
  private writeRows(l: LeaderLoop, values: Value[]): void {
    const h = this.host;
    values.forEach((v, i) => h.owned(v.type.shape, (site) => h.line(`if (t4 == 0) ${this.rowsAt(l, i)}[${site.row}] = ${h.name(v)}[${site.slot(v.type.shape)}];`)));
  }

  /** Row vectors from slots 0, 1, ... into their registers (declared first with `declare`). */
  private readRows(l: LeaderLoop, values: Value[], declare: boolean): void {
    const h = this.host;
    values.forEach((v, i) => {
      if (declare) h.line(`float ${h.name(v)}[${h.registers(v.type.shape)}];`);
      h.owned(v.type.shape, (site) => h.line(`${h.name(v)}[${site.slot(v.type.shape)}] = ${this.rowsAt(l, i)}[${site.row}];`));
    });
  }

  private tileRegions(l: LeaderLoop): Map<Value, Region> {
    const M = (this.host.plan.shape as MmaShape).M;
    const offs = leaderBytes(l, M).tiles;
    return new Map(l.tiles.map((t, i) => [t, { pool: "bytes", offset: this.at + offs[i], stride: t.type.shape[1] * 2 }]));
  }

  /**
   * The loop twice: group 0's version, then (from the same copy state, `reset`) the other
   * groups'. One loop holding both as a branch had ptxas keep both paths' registers live at
   * once (255 and a spill on MLA, against 214 and 180 apart).
   */
  versions(l: LeaderLoop, emit: () => void, reset: () => void): void {
    const h = this.host;
    h.line("if (wcol == 0) { // the leader: the narrow tiles (scores, softmax) over the whole k, then its slice");
    h.enter();
    this.role = 0;
    emit();
    h.leave();
    h.line("} else { // the other groups: their slices, from what the leader published");
    h.enter();
    reset();
    this.role = 1;
    emit();
    h.readShared(new Map());
    h.leave();
    h.line("}");
  }

  /**
   * This group's body and yields, after the tile's one barrier. Where every tile but the loop's
   * first lands on mbarriers as one TMA box a 64-column block (sm_90a), that barrier is the first
   * tile's alone and the groups order themselves by named barriers 2 and 3 instead: group 0 may
   * then run the next tile's scores and softmax while the others still run this tile's P·V.
   * Measured on an H200 (docs/performance-history.md, MLA): the split 6-7% faster at page 64.
   * At page 16 (four boxes a block) the copies bound the loop (taking the leader's P·V away
   * altogether gained 2-3% there, 13% at page 64) and this ordering ran 1-2% slower, so the
   * block barrier stays there.
   */
  body(l: LeaderLoop, top: Prefetch[]): void {
    const f = l.loop;
    const h = this.host;
    const iv = h.name(f.iv);
    const [lo, hi] = [h.scalarOf(f.lo), h.scalarOf(f.hi)];
    const paired = this.paired.has(f);
    for (const p of top) h.boxWait(p, iv, lo);
    h.barrier(`this tile's ${top.map((p) => h.name(p.v)).join(", ")} arrived; every warp is done with the other buffers`, true, paired ? `${iv} == ${lo}` : undefined);
    // The other groups copy the next tile while the leader computes this one's scores (their own
    // dots wait for its P): its page-table reads and cp.async issue stay off the leader's path.
    const s = h.plan.shape as MmaShape;
    const copiers = copyTeam(s);
    for (const p of top) h.issueAhead(p, `(${iv} + 1)`, `${iv} + 1 < ${hi}`, true, this.role === 0 ? "none" : copiers);
    // Named barriers in the order each side meets them: a group's arrivals alternate with the
    // other side's waits, one of each a tile but the last (3, then 2: the others wait on 3
    // before they arrive on 2, so neither barrier is arrived at twice in a row).
    const sm90 = (line: string) => {
      if (paired) hopperOnly(h, () => h.line(line));
    };
    // With tiles to widen, each group's last dot (its P·V slice) runs on the tensor cores while
    // its threads widen their share of the next tile: committed without a wait, waited for after
    // the widening.
    const staged = top.filter((p) => h.plan.converted.has(p.v));
    const last = staged.length ? [...f.body.insts].reverse().find((i) => i.kind === "def" && i.value.op.kind === "dot" && !l.narrow.has(i.value)) : undefined;
    const pv = last?.kind === "def" ? last.value : undefined;
    if (this.role === 0) {
      for (const inst of f.body.insts) {
        if (inst === l.at) {
          sm90(`if (${iv} > ${lo}) p_free_wait(); // the other groups are done with the last tile's P`);
          this.publish(l);
        }
        h.deferDot(inst.kind === "def" && inst.value === pv ? pv : undefined);
        h.emitInst(inst);
      }
      h.deferDot(undefined);
      this.widen(staged, iv, hi, pv);
      h.yieldTo(f.carried, f.yields, new Set(f.carried));
      sm90(`if (${iv} + 1 < ${hi}) buffer_read_arrive(); // this tile's buffer is read`);
      return;
    }
    for (const inst of f.body.insts) {
      if (inst === l.at) this.receive(l);
      if (inst.kind === "def" && l.narrow.has(inst.value)) continue;
      h.deferDot(inst.kind === "def" && inst.value === pv ? pv : undefined);
      h.emitInst(inst);
    }
    h.deferDot(undefined);
    this.widen(staged, iv, hi, pv);
    const wide = f.carried.map((_, k) => k).filter((k) => !l.narrow.has(f.carried[k]));
    h.yieldTo(
      wide.map((k) => f.carried[k]),
      wide.map((k) => f.yields[k]),
      new Set(f.carried),
    );
    sm90(`if (${iv} + 1 < ${hi}) { buffer_read_wait(); p_free_arrive(); } // group 0 is done with this tile's buffer (the copy after next may go there); this group is done with P`);
  }

  /** Group 0: P as 16-bit pairs into its swizzled tile, the row vectors into their slots. */
  private publish(l: LeaderLoop): void {
    const h = this.host;
    const s = h.plan.shape as MmaShape;
    const regions = this.tileRegions(l);
    for (const t of l.tiles) {
      // The pair (p = 0, 1) of a site is two adjacent columns: one 32-bit store. Packed from the
      // float source as the dot's own fragments are (pack_*), so both sides hold the same bits.
      const src = t.op.kind === "cast" && isFloat(t.op.a.type.dtype) ? t.op.a : t;
      const dt = t.type.dtype === "f16" ? "f16" : "bf16";
      h.line(`// ${h.name(t)}: published for the other groups' dots (${t.type.shape.join(" x ")}, swizzled)`);
      h.line("#pragma unroll");
      h.line(`for (int mt = 0; mt < ${s.MT}; ++mt)`);
      h.line("#pragma unroll");
      h.line("for (int h = 0; h < 2; ++h)");
      h.line("#pragma unroll");
      h.line(`for (int nt = 0; nt < ${t.type.shape[1] / 8}; ++nt) {`);
      h.enter();
      const [a, b] = [h.siteAt("mt", "h", "nt", "0"), h.siteAt("mt", "h", "nt", "1")];
      h.line(`*reinterpret_cast<uint32_t*>(smem + ${h.tileOffset(t, regions.get(t)!, a.row, a.col)}) = pack_${dt}(${h.elemAt(src, a)}, ${h.elemAt(src, b)});`);
      h.leave();
      h.line("}");
    }
    if (l.rows.length) h.line(`// ${l.rows.map((r) => h.name(r)).join(", ")}: published (one float a row)`);
    this.writeRows(l, l.rows);
    h.asyncFence();
    h.line("published_arrive();");
  }

  /**
   * Every group, after its P·V slice `pv` is issued: the next tile's staged E4M3 copies
   * (converted tiles, issued by the copying team at this tile's top) widened in place, each
   * thread its share; then `pv` waited for.
   */
  private widen(staged: Prefetch[], iv: string, hi: string, pv: Value | undefined): void {
    const h = this.host;
    if (!staged.length) return;
    h.line(`if (${iv} + 1 < ${hi}) { // the next tile's ${staged.map((p) => h.name(p.v)).join(", ")}: their E4M3 bytes landed, widened in their buffers by every group`);
    h.enter();
    if (this.role === 1) h.line("cp_async_wait<0>(); // this thread's copies of them");
    h.line("copy_team_sync(); // every copy landed and is visible to every group");
    for (const p of staged) h.widenStaged(p, `(${iv} + 1)`, widenTeam(h.plan.shape as MmaShape));
    h.leave();
    h.line("}");
    if (!pv) return;
    hopperOnly(h, () => {
      h.line(`wgmma_wait<0>(); // ${h.name(pv)}: this tile's P·V slice, which ran beside the widening`);
      h.line(regFences(h.name(pv), h.registers(pv.type.shape)));
    });
  }

  /** The other groups: wait for the leader's tile, take its row vectors, read P from shared memory. */
  private receive(l: LeaderLoop): void {
    const h = this.host;
    h.line(`published_wait(); // ${[...l.tiles, ...l.rows].map((v) => h.name(v)).join(", ")} published`);
    this.readRows(l, l.rows, true);
    h.readShared(this.tileRegions(l));
  }

  /** After the loop: the narrow values it carried, from group 0 to the others. */
  epilogue(l: LeaderLoop): void {
    if (!l.results.length) return;
    const h = this.host;
    const f = l.loop;
    const carried = l.results.map((k) => f.results[k]);
    h.line(`__syncthreads(); // the loop's published rows are read; ${carried.map((c) => h.name(c)).join(", ")} go to every group`);
    h.line("if (wcol == 0) {");
    h.enter();
    this.writeRows(l, carried);
    h.leave();
    h.line("}");
    h.line("__syncthreads();");
    h.line("if (wcol != 0) {");
    h.enter();
    this.readRows(l, carried, false);
    h.leave();
    h.line("}");
  }

  ofBody(b: Block): LeaderLoop | undefined {
    return this.byBody.get(b);
  }
}
