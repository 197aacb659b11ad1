// The code of a warp-specialized kernel (warp-specialize.ts decides and lays out the stages):
// after the preamble, thread 0 initializes the stages' mbarriers and a block barrier follows; then
// one branch a role.
// - The producer (the last warpgroup) drops to its registers and follows the body's top level:
//   the scalars the loops' bounds, guards and tile addresses read, the guards that return (a
//   producer whose consumers left would otherwise wait on an empty stage forever), and for each
//   tile loop its tiles in order, counting them across loops (count c: stage c & 1). A tile of a
//   loop is thread 0's TMA boxes, after the stage's empty phase, where its loads' predicates hold
//   for all its rows (rows from pages: lane j of the first warp issues page j's boxes, once lane
//   0 waited for the stage); else every producer thread's cp.async, zero-filled where they fail, each
//   thread waiting for its copies and fencing them, then thread 0 arriving on the full mbarrier.
//   Where the rows are gathered (pages under 64 rows; one-row pages have no box), every tile is the producer
//   threads' cp.async, each thread arriving on the full mbarrier as its copies land (noinc)
//   without waiting for them, and the consumers fence the async proxy after their wait.
// - The consumers take their registers and run the body as the kernel would, their block
//   barriers made named barrier 1 of the consumer threads alone; the loops are overlap-emit.ts's
//   consumer loops, which wait on the stages and release them, taking turns to issue wgmmas.
import type { Block, IfInst, Value } from "../../ir/ir.ts";
import type { CopyHost } from "./copy-emit.ts";
import { copyChunks } from "./copy-emit.ts";
import { copyByLanes } from "./gather-lanes.ts";
import { type LineWriter, hopperOnly, hopperOnlyText } from "./hopper-only.ts";
import type { Overlap } from "./overlap.ts";
import { forIndex } from "./tile-copies.ts";
import { boxes, boxesOf } from "./tma-stream.ts";
import { eachPageLane } from "./tma.ts";
import { type WarpSpecialized, type WsStages, WS_BAR, producerScalars, wholeRows, wsBar, wsStageRegion } from "./warp-specialize.ts";
import { elem, position } from "./elements.ts";

/** Threads a warpgroup. */
const WG = 128;

// Gathered stages only (WsStages.gathered).
const NOINC = `// Arrive on the mbarrier once every cp.async this thread issued so far has landed, counted among
// the barrier's arrivals (noinc: a gathered stage's full barrier expects one from each producer thread).
__device__ __forceinline__ void cp_async_arrive_noinc(unsigned char* bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\\n" :: "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");
}
`;

/**
 * mbarriers with an arrival count, plain arrivals, named barriers and setmaxnreg; barrier 1: the
 * consumers' block barrier, 2: the producer group's.
 */
export const wsHelpers = (st: WsStages): string =>
  hopperOnlyText(`// The warp-specialized schedule (warp-specialize.ts, ws-emit.ts).
__device__ __forceinline__ void mbar_init_n(unsigned char* bar, unsigned n) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\\n" :: "r"((unsigned)__cvta_generic_to_shared(bar)), "r"(n) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned char* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\\n" :: "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");
}
${st.gathered ? NOINC : ""}__device__ __forceinline__ void named_sync(int id, int n) { asm volatile("bar.sync %0, %1;\\n" :: "r"(id), "r"(n) : "memory"); }
__device__ __forceinline__ void named_arrive(int id, int n) { asm volatile("bar.arrive %0, %1;\\n" :: "r"(id), "r"(n) : "memory"); }
template <int N> __device__ __forceinline__ void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\\n" :: "n"(N)); }
template <int N> __device__ __forceinline__ void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\\n" :: "n"(N)); }
// The consumers' block barrier (the producer never joins it) and the producer group's.
__device__ __forceinline__ void consumers_sync() { asm volatile("bar.sync 1, ${st.consumers * WG};\\n" ::: "memory"); }
__device__ __forceinline__ void producers_sync() { asm volatile("bar.sync 2, ${WG};\\n" ::: "memory"); }`);

// ---- the consumers' turns (FlashAttention 3's ping-pong) -------------------------------------
// Named barrier 8 + g holds group g until the group before it in a ring has issued its wgmmas
// (128 threads wait, 128 arrive): the groups issue in turn, so one group's softmax runs while
// another's matrix work does. The ring runs through all the consumer loops: the last group
// arrives for group 0 before the first loop, group 0 takes the last group's last arrival after
// the last; every group issues as often. (Hardware counts a barrier's threads, not whose they
// are: restarted a loop, the ring let a group arrive twice, completing a phase without the group
// that should have waited: mha_prefill at head dim 256, causal, hung on the H200.)

const turns = (ws: WsStages) => ws.consumers > 1;
export function turnBegin(h: LineWriter, ws: WsStages): void {
  if (turns(ws)) h.line(`named_sync(8 + wg_row, ${2 * WG}); // this group's turn to issue`);
}
export function turnEnd(h: LineWriter, ws: WsStages): void {
  if (turns(ws)) h.line(`named_arrive(8 + (wg_row + 1) % ${ws.consumers}, ${2 * WG}); // the next group's turn`);
}
export function turnsStart(h: LineWriter, ws: WsStages): void {
  if (turns(ws)) h.line(`if (wg_row == ${ws.consumers - 1}) named_arrive(8, ${2 * WG}); // group 0 issues first`);
}
export function turnsEnd(h: LineWriter, ws: WsStages): void {
  if (turns(ws)) h.line(`if (wg_row == 0) named_sync(8, ${2 * WG}); // the last group's last turn, taken`);
}

/**
 * After a consumer's wait on a gathered stage: the producer's cp.async wrote it through the
 * generic proxy and cannot fence once its copies land (it does not wait for them), so the
 * reader orders them before its wgmmas, which read through the async proxy.
 */
export function gatheredFence(h: LineWriter, ws: WsStages): void {
  if (ws.gathered) h.line("fence_async_proxy(); // the stage was gathered by cp.async (generic proxy)");
}

/** What the two roles need of the kernel emitter. */
export interface WsHost extends CopyHost {
  name(v: Value): string;
  scalarOf(v: Value): string;
  renamed(pairs: [Value, string][], body: () => void): void;
  /** Emit a top-level scalar's definition. */
  defScalar(v: Value): void;
  /** Emit a top-level guard (`if ... { return; }`). */
  guard(i: IfInst): void;
  /** Emit the kernel's body as every other kernel's (the consumers'). */
  consumerBody(): void;
  /** Rewrite each line emitted since `mark()`. */
  mark(): number;
  rewrite(from: number, f: (line: string) => string): void;
}

/** The kernel's body after the preamble. */
export function emitWarpSpecialized(h: WsHost, w: WarpSpecialized, body: Block): void {
  const st = w.stages;
  const consumers = st.consumers * WG;
  hopperOnly(
    h,
    () => {
      const full = st.gathered ? `the ${WG} producer threads' arrivals as their copies land` : "a copy's bytes (or the producer's arrival)";
      h.line(`if (tid == 0) { // the stages' mbarriers: full on ${full}, empty on the ${consumers} consumer threads' arrivals`);
      h.enter();
      for (const s of [0, 1]) {
        for (const which of ["fullK", "fullV"] as const) h.line(st.gathered ? `mbar_init_n(${wsBar(st, which, `${s}`)}, ${WG});` : `mbar_init(${wsBar(st, which, `${s}`)});`);
        h.line(`mbar_init_n(${wsBar(st, "emptyK", `${s}`)}, ${consumers});`);
        h.line(`mbar_init_n(${wsBar(st, "emptyV", `${s}`)}, ${consumers});`);
      }
      h.line("mbar_init_fence();");
      h.leave();
      h.line("}");
      h.line("__syncthreads(); // the mbarriers are initialized");
      h.line(`if (wg_row == ${st.consumers}) { // the producer: K and V into the stages`);
      h.enter();
      producer(h, w, body);
      h.leave();
      h.line("} else { // the consumers: the body, their loops waiting on the stages");
      h.enter();
      h.line(`regs_inc<${st.consumerRegs}>();`);
      h.line("int ws_tiles = 0; // tiles read so far, over every loop (a tile's count gives its stage)");
      const from = h.mark();
      h.consumerBody();
      // The producer never reaches the consumers' block barriers: theirs is named barrier 1.
      h.rewrite(from, (l) => l.replace("__syncthreads();", "consumers_sync();"));
      h.leave();
      h.line("}");
    },
    () => h.line("// Other architectures load this instance's build of their own (the spec's `target cuda sm_80:`)."),
  );
}

/** The producer's branch: the scalars it needs and the guards in program order, each loop's copies. */
function producer(h: WsHost, w: WarpSpecialized, body: Block): void {
  const st = w.stages;
  h.line(`regs_dec<${st.producerRegs}>();`);
  h.line(`const int ptid = tid - ${st.consumers * WG}; // this thread in the producer group`);
  h.line("int ws_tiles = 0; // tiles copied so far, over every loop: count c goes to stage c & 1");
  const need = producerScalars(body, w.loops.values());
  for (const inst of body.insts) {
    if (inst.kind === "def" && need.has(inst.value)) h.defScalar(inst.value);
    else if (inst.kind === "if") h.guard(inst);
    else if (inst.kind === "for") producerLoop(h, w.loops.get(inst)!, st);
  }
}

/** One loop's tiles into the stages: TMA boxes where the tile is whole, else cp.async. */
function producerLoop(h: WsHost, o: Overlap, st: WsStages): void {
  if (st.gathered) return gatheredLoop(h, o, st);
  const f = o.loop;
  const [lo, hi, iv] = [h.scalarOf(f.lo), h.scalarOf(f.hi), h.name(f.iv)];
  const R = o.k.v.type.shape[0];
  const preds = [wholeRows(h.plan, o.k.v), wholeRows(h.plan, o.v.v)];
  // Every tile whole (no predicate), or none known to be (a predicate of another form).
  const always = preds.every((p) => p === undefined);
  const never = preds.includes("never");
  // Thread 0 issues a tile's boxes, or lane j of the group's first warp page j's (K and V are
  // paged alike: wsCandidate).
  const paged = o.k.paged;
  const issuers = paged ? "ptid < 32" : "ptid == 0";
  const tma = paged ? `the first warp's TMA boxes (lane j: page j's; ${boxesOf(o.k, o.k.rows, R / o.k.rows)} each of K and V)` : `thread 0's TMA boxes (${boxesOf(o.k, R)} each of K and V)`;
  const how = always ? tma : never ? "cp.async of the whole group, zero-filled where the loads' predicates fail" : "TMA where the loads' predicates hold at the last row, else cp.async of the group";
  h.line(`// tiles ${lo} .. ${hi}: ${how}`);
  h.line(`const int ${iv}_from = ws_tiles - ${lo};`);
  if (always) {
    h.line(`if (${issuers}) {`);
    h.enter();
  }
  h.line(`for (int ${iv} = ${lo}; ${iv} < ${hi}; ++${iv}) {`);
  h.enter();
  tileCount(h, iv);
  const deps = copyDepsOf(o);
  const tiles: [Overlap["k"], Which][] = [[o.k, "K"], [o.v, "V"]];
  forIndex(h, f, iv, deps, () => {
    if (always) return tiles.forEach(([s, w]) => tmaTile(h, s, w, st));
    if (never) return tiles.forEach(([s, w]) => cpAsyncTile(h, s, w, st));
    const last = position(`${R - 1}`, "0");
    const whole = [...new Set(preds.filter((p): p is Value => p !== undefined && p !== "never").map((p) => `(${elem(h, p, last)})`))];
    h.line(`if (${whole.join(" && ")}) { // every row's predicate holds`);
    h.enter();
    h.line(`if (${issuers}) {`);
    h.enter();
    tiles.forEach(([s, w]) => tmaTile(h, s, w, st));
    h.leave();
    h.line("}");
    h.leave();
    h.line("} else {");
    h.enter();
    tiles.forEach(([s, w]) => cpAsyncTile(h, s, w, st));
    h.leave();
    h.line("}");
  });
  h.leave();
  h.line("}");
  if (always) {
    h.leave();
    h.line("}");
  }
  h.line(`ws_tiles += max(0, ${hi} - ${lo});`);
}

/** The body scalars the loop's K and V copies read, in program order. */
function copyDepsOf(o: Overlap): Value[] {
  const defAt = new Map(o.loop.body.insts.map((i, k) => [i.kind === "def" ? i.value : undefined, k]));
  return [...new Set([...o.kDeps, ...o.vDeps])].sort((a, b) => defAt.get(a)! - defAt.get(b)!);
}

/** The header of a producer loop's tile: its count over every loop, its stage and the empty phase it waits for. */
function tileCount(h: WsHost, iv: string): void {
  // The empty mbarrier's phase before this use of the stage completed when the tile two before
  // was read; on a stage's first use the phase "before" phase 0 reads as completed.
  h.line(`const int ws_c = ${iv}_from + ${iv}, ws_s = ws_c & 1, ws_ph = ((ws_c >> 1) & 1) ^ 1;`);
}

/**
 * A loop of gathered tiles (pages under 64 rows): every producer thread waits for the stage, issues its
 * rows' cp.async (zero-filled where the load's predicate fails, so partial tiles need no other
 * path) and arrives on the full mbarrier once they land, without waiting for them: the next
 * tile's copies are issued while these are in flight.
 */
function gatheredLoop(h: WsHost, o: Overlap, st: WsStages): void {
  const f = o.loop;
  const [lo, hi, iv] = [h.scalarOf(f.lo), h.scalarOf(f.hi), h.name(f.iv)];
  h.line(`// tiles ${lo} .. ${hi}: every producer thread's cp.async of its rows, arriving on the full mbarrier as they land`);
  h.line(`const int ${iv}_from = ws_tiles - ${lo};`);
  h.line(`for (int ${iv} = ${lo}; ${iv} < ${hi}; ++${iv}) {`);
  h.enter();
  tileCount(h, iv);
  forIndex(h, f, iv, copyDepsOf(o), () => {
    for (const [s, which] of [[o.k, "K"], [o.v, "V"]] as const) {
      const { full, empty, region } = stageOf(s, which, st);
      h.line("{");
      h.enter();
      h.line(`mbar_wait(${wsBar(st, empty, "ws_s")}, ws_ph); // ${h.name(s.v)}'s stage is free`);
      const team = { threads: WG, tid: "ptid" };
      if (!copyByLanes(h, s.v, region, team)) copyChunks(h, s.v, region, true, team);
      h.line(`cp_async_arrive_noinc(${wsBar(st, full, "ws_s")}); // the stage is full once every producer thread's copies landed`);
      h.leave();
      h.line("}");
    }
  });
  h.leave();
  h.line("}");
  h.line(`ws_tiles += max(0, ${hi} - ${lo});`);
}

type Which = "K" | "V";

/** Stream s's tile (K or V) in stage ws_s: its mbarriers and its region. */
function stageOf(s: Overlap["k"], which: Which, st: WsStages) {
  return {
    full: `full${which}` as keyof typeof WS_BAR,
    empty: `empty${which}` as keyof typeof WS_BAR,
    bytes: which === "K" ? st.kBytes : st.vBytes,
    region: wsStageRegion(st, which, "ws_s", s.v),
  };
}

/**
 * The tile's TMA boxes into its stage, once the stage's readers are done: thread 0's, or where
 * its rows come from pages, lane j of the group's first warp's for page j (lane 0 having waited
 * for the stage and set the bytes to expect).
 */
function tmaTile(h: WsHost, s: Overlap["k"], which: Which, st: WsStages): void {
  const { full, empty, bytes, region } = stageOf(s, which, st);
  const bar = `${st.bars + WS_BAR[full]} + 8 * ws_s`;
  h.line("{");
  h.enter();
  if (s.paged) {
    h.line("if (ptid == 0) {");
    h.enter();
  }
  h.line(`mbar_wait(${wsBar(st, empty, "ws_s")}, ws_ph); // ${h.name(s.v)}'s stage is free`);
  h.line(`mbar_expect_bytes(${wsBar(st, full, "ws_s")}, ${bytes});`);
  if (!s.paged) boxes(h, s, region, "0", bar);
  else {
    h.leave();
    h.line("}");
    h.line("__syncwarp(); // the stage is free and its bytes expected before any lane's boxes");
    eachPageLane(h, s.v.type.shape[0] / s.rows, (j) => boxes(h, s, region, `(${j} * ${s.rows})`, bar));
  }
  h.leave();
  h.line("}");
}

/** The group's cp.async of the tile into its stage (zero-filled where the load's predicate fails), then thread 0's arrival. */
function cpAsyncTile(h: WsHost, s: Overlap["k"], which: Which, st: WsStages): void {
  const { full, empty, region } = stageOf(s, which, st);
  h.line("{");
  h.enter();
  // A parity names a phase only to a waiter at most one phase behind: the group first meets
  // thread 0, which waited for every earlier phase (its TMA tiles).
  h.line("producers_sync();");
  h.line(`mbar_wait(${wsBar(st, empty, "ws_s")}, ws_ph); // ${h.name(s.v)}'s stage is free`);
  // Rolled: unrolled, its row addresses outgrow the producer's registers.
  h.line("#pragma unroll 1");
  copyChunks(h, s.v, region, false, { threads: WG, tid: "ptid" });
  h.line("cp_async_wait_all();");
  h.line("fence_async_proxy(); // the tensor cores read the stage through the async proxy");
  h.line("producers_sync(); // every thread's copies have landed");
  h.line(`if (ptid == 0) mbar_arrive(${wsBar(st, full, "ws_s")}); // the stage is full`);
  h.leave();
  h.line("}");
}
