// Software pipelining of tile copies across loop iterations (FlashAttention-2's schedule): a
// copy issued at the top of a loop body whose addresses depend only on the loop index (the K
// tile) is instead started one iteration early. Before the loop the first iteration's tile is
// issued; in the body, right after the tile's last reader (the scores dot), every thread passes
// a barrier and the next iteration's tile starts streaming in while the softmax and P·V run.
// The tile then occupies its shared memory for the whole loop (the allocator is told).
//
// A tile that the body's first dot reads and its last dot still reads (MLA's latent tile, both
// the keys and the values) has no later dot to hide behind and nothing before its first use: it
// is double-buffered instead. Iteration i reads buffer i & 1 while, from the top of the body, the
// tile of i + 1 streams into the other buffer.
import type { Block, ForInst, Inst, Value } from "../../ir/ir.ts";
import { operands } from "../../ir/ir.ts";
import { copiedLoad } from "./copyable.ts";
import { type CudaPlan, anywhere } from "./plan.ts";

export interface Prefetch {
  /** The loaded tile. */
  v: Value;
  loop: ForInst;
  /** The body instruction after which the next iteration's copy starts (several buffers: the top). */
  after?: Inst;
  /**
   * Buffers, taken in turn: 1 (the next tile copied after `after`), 2 (the next tile copied at the
   * top of the body) or 3 (a loop whose scores run a tile ahead, rotate.ts: the tile after next
   * copied at the top, after the body's one barrier).
   */
  stages: number;
  /**
   * Scalars defined in the body, in body order, that the copy's addresses or predicate read
   * (`n * BLOCK_N`): recomputed for the next index before the copy.
   */
  deps: Value[];
}

/** Every tile loop f prefetches streams in at the body's top into `stages` buffers taken in turn. */
export function restage(prefetch: Prefetch[], f: ForInst, stages: number): void {
  for (const p of prefetch) {
    if (p.loop !== f) continue;
    p.after = undefined;
    p.stages = stages;
  }
}

/** Op kinds a recomputed scalar may have: plain expressions of other scalars (opExpr's cases). */
const RECOMPUTABLE = new Set(["const", "binary", "unary", "select", "cast", "load"]);

/**
 * Which of the early copies (`issueBefore`) to pipeline across iterations. A copy qualifies when
 * it is issued in a loop body, reads (besides values from outside the loop) only the loop index
 * and body scalars that are themselves such expressions, and a dot of the body follows its last
 * reader (work for the next copy to hide behind). Qualifying copies leave `issueBefore`.
 */
export function prefetchPoints(body: Block, issueBefore: Map<Inst, Value[]>, plan: CudaPlan): Prefetch[] {
  const out: Prefetch[] = [];
  const visit = (b: Block) => {
    for (const inst of b.insts) {
      if (inst.kind === "for") {
        out.push(...inLoop(inst, issueBefore, plan));
        visit(inst.body);
      } else if (inst.kind === "if") {
        visit(inst.then);
        visit(inst.else);
      }
    }
  };
  visit(body);
  for (const p of out) {
    for (const [inst, vs] of issueBefore) {
      const rest = vs.filter((v) => v !== p.v);
      if (rest.length) issueBefore.set(inst, rest);
      else issueBefore.delete(inst);
    }
  }
  return out;
}

/** Where each value of loop f's body is defined (its index in the body; -1: not recomputable there). */
function bodyDefs(f: ForInst): Map<Value, number> {
  const defAt = new Map<Value, number>();
  f.body.insts.forEach((inst, i) => {
    if (inst.kind === "def") defAt.set(inst.value, i);
    if (inst.kind === "for" || inst.kind === "if") inst.results.forEach((r) => defAt.set(r, -1));
  });
  f.carried.forEach((c) => defAt.set(c, -1));
  return defAt;
}

/** The body scalars of loop f that the copy of tile v reads, in body order (recomputed for another index), or undefined. */
export function loopCopyDeps(f: ForInst, v: Value, plan: CudaPlan): Value[] | undefined {
  const defAt = bodyDefs(f);
  return scalarDeps(v, defAt, plan)?.sort((a, b) => defAt.get(a)! - defAt.get(b)!);
}

function inLoop(f: ForInst, issueBefore: Map<Inst, Value[]>, plan: CudaPlan): Prefetch[] {
  const insts = f.body.insts;
  const defAt = bodyDefs(f);
  const firstDot = (from: number) => insts.findIndex((inst, i) => i > from && reads(inst, (x) => x.op.kind === "dot"));
  const out: Prefetch[] = [];
  for (const inst of insts) {
    for (const v of issueBefore.get(inst) ?? []) {
      const deps = scalarDeps(v, defAt, plan);
      if (!deps) continue;
      // A staged fp8 tile is last read by the dot of its widened copy (widened right before it).
      const widened = [...plan.staged].filter(([, src]) => src === v).map(([w]) => w);
      let first = -1;
      let last = -1;
      insts.forEach((i, k) => {
        // A transpose (K^T) only renames the tile for its dot.
        if (!(usesTile(i, v) || widened.some((w) => usesTile(i, w))) || (i.kind === "def" && i.value.op.kind === "transpose")) return;
        if (first < 0) first = k;
        last = k;
      });
      if (last < 0) continue;
      const sorted = deps.sort((a, b) => defAt.get(a)! - defAt.get(b)!);
      if (firstDot(last) >= 0) out.push({ v, loop: f, after: insts[last], stages: 1, deps: sorted });
      else if (firstDot(-1) === first && last > first) out.push({ v, loop: f, stages: 2, deps: sorted });
    }
  }
  return out;
}

/**
 * The body scalars a copy reads, or undefined when it reads anything that cannot be recomputed
 * for the next index (a register tile of the body, a carried value, a loop or branch result).
 */
function scalarDeps(v: Value, defAt: Map<Value, number>, plan: CudaPlan): Value[] | undefined {
  const deps = new Set<Value>();
  let ok = true;
  const seen = new Set<Value>();
  const walk = (x: Value, root: boolean) => {
    if (seen.has(x) || !ok) return;
    seen.add(x);
    const at = defAt.get(x);
    if (at === -1) ok = false;
    else if (at !== undefined && !root && x.type.shape.length === 0) {
      // A body scalar: recomputed for the next index, from its own operands.
      if (!RECOMPUTABLE.has(x.op.kind)) ok = false;
      deps.add(x);
      operands(x.op).forEach((o) => walk(o, false));
    } else if (root || plan.layout.get(x) === "expr") operands(x.op).forEach((o) => walk(o, false));
    // An expression tile is recomputed element by element wherever it is read; a body tile held
    // in registers has no next-index value.
    else if (at !== undefined) ok = false;
  };
  walk(v, true);
  return ok ? [...deps] : undefined;
}

/** Does `inst` (or anything nested in it) define a value that satisfies `test` or reads tile `v`? */
function reads(inst: Inst, test: (x: Value) => boolean): boolean {
  if (inst.kind === "def") return test(inst.value);
  if (inst.kind === "for") return inst.body.insts.some((i) => reads(i, test));
  if (inst.kind === "if") return [...inst.then.insts, ...inst.else.insts].some((i) => reads(i, test));
  return false;
}

function usesTile(inst: Inst, v: Value): boolean {
  return reads(inst, (x) => operands(x.op).some((o) => o === v || (o.op.kind === "transpose" && o.op.a === v)));
}

/**
 * Where to start each cp.async copy: as early in its block as its inputs allow (right after the
 * last scalar it depends on), so in a loop body the V tile streams in while the scores of K are
 * computed. Only copies done with cp.async are moved; the rest fill at their first use.
 */
export function issuePoints(body: Block, fillBefore: Map<Inst, Value[]>, plan: CudaPlan): Map<Inst, Value[]> {
  const out = new Map<Inst, Value[]>();
  const visit = (b: Block) => {
    const index = new Map<Value, number>();
    b.insts.forEach((inst, i) => {
      if (inst.kind === "def") index.set(inst.value, i);
      if (inst.kind === "for" || inst.kind === "if") inst.results.forEach((r) => index.set(r, i));
    });
    b.insts.forEach((inst, at) => {
      for (const v of fillBefore.get(inst) ?? []) {
        if (!anywhere(plan, v) || !copiedLoad(plan, v)) continue;
        // The latest definition in this block that the copy's addresses and predicate read.
        let latest = -1;
        const seen = new Set<Value>();
        const walk = (x: Value) => {
          if (seen.has(x)) return;
          seen.add(x);
          const i = index.get(x);
          if (i !== undefined && (plan.layout.get(x) !== "expr" || x.type.shape.length === 0)) latest = Math.max(latest, i);
          if (plan.layout.get(x) === "expr" || x === v) operands(x.op).forEach(walk);
        };
        walk(v);
        if (latest + 1 < at) {
          const from = b.insts[latest + 1];
          out.set(from, [...(out.get(from) ?? []), v]);
        }
      }
      if (inst.kind === "for") visit(inst.body);
      if (inst.kind === "if") {
        visit(inst.then);
        visit(inst.else);
      }
    });
  };
  visit(body);
  return out;
}
