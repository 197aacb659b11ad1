// A leader schedule for loops over column-split tiles (FlashMLA's first decomposition): when the
// widest accumulator is split over column groups of warps (MLA's 512 latent columns) and the
// narrow tiles (the scores, the softmax) would otherwise be computed alike by every group, or
// their dot split by k with an exchange of partial sums, group 0 alone computes them, over the
// whole k. What the other groups' slices read of them crosses through shared memory once a tile:
// row vectors (the rescale factors alpha) as floats, the A operand of a wide dot (P) as a
// 16-bit tile in the swizzled layout wgmma reads, announced by a named barrier. The narrow
// values a loop carries (row max, row sum) are published the same way when the loop ends.
//
// Measured reason (docs/performance-history.md, MLA): with the scores k-split, each 32-key tile paid an
// exchange and both groups ran the same softmax in lockstep; here the other group's tensor work
// (its P·V slice) needs nothing but P and alpha, and the leader's scores run at m64n64k16.
import type { ForInst, Inst, Value } from "../../ir/ir.ts";
import { operands } from "../../ir/ir.ts";
import { type CudaPlan, type MmaShape, anywhere } from "./plan.ts";
import { groupColumns } from "./layouts.ts";
import { type Prefetch, restage } from "./prefetch.ts";
import { swizzleable } from "./wgmma.ts";

export interface LeaderLoop {
  loop: ForInst;
  /** Body values group 0 alone computes. */
  narrow: Set<Value>;
  /** Narrow row vectors ([M, 1] registers) a wide value reads: one float slot a row each. */
  rows: Value[];
  /** Narrow 16-bit tiles a wide dot reads as its A operand (P): published swizzled. */
  tiles: Value[];
  /** The first body instruction reading a published value: group 0 publishes right before it. */
  at: Inst;
  /** Indices of the narrow carried values (row vectors), published when the loop ends. */
  results: number[];
}

const stripT = (v: Value): Value => (v.op.kind === "transpose" ? v.op.a : v);

/** Is v split over the column groups (a slice per group)? */
const isWide = (s: MmaShape, v: Value) => v.type.shape.length === 2 && groupColumns(s, v.type.shape[1]) !== "";

/** The loops that take the leader schedule; their prefetched tiles become double-buffered at the top. */
export function leaderLoops(prefetch: Prefetch[], plan: CudaPlan): Map<ForInst, LeaderLoop> {
  const out = new Map<ForInst, LeaderLoop>();
  if (!plan.leader || plan.shape.kind !== "mma" || plan.shape.WC < 2) return out;
  for (const f of new Set(prefetch.map((p) => p.loop))) {
    const l = analyse(f, plan);
    if (!l) continue;
    out.set(f, l);
    // No barrier may sit inside the body (the groups run different code there): every tile of
    // the loop streams in at the top, into the other of two buffers.
    restage(prefetch, f, 2);
  }
  return out;
}

function analyse(f: ForInst, plan: CudaPlan): LeaderLoop | undefined {
  const s = plan.shape as MmaShape;
  const M = s.M;
  const narrow = new Set<Value>();
  const rows = new Set<Value>();
  const tiles = new Set<Value>();
  let at: Inst | undefined;
  // A tile held whole by every group in registers: what group 0 alone computes.
  const narrowShape = (v: Value) => v.type.shape.length === 2 && v.type.shape[0] === M && !isWide(s, v) && !anywhere(plan, v);
  f.carried.forEach((c) => narrowShape(c) && narrow.add(c));
  // What a wide value reads of the narrow ones: row vectors in registers, or expressions of them.
  const cross = (o: Value): boolean => {
    if (!narrow.has(o)) return true;
    if (plan.layout.get(o) === "regs" && o.type.shape[1] === 1) return rows.add(o), true;
    return plan.layout.get(o) === "expr" && operands(o.op).every(cross);
  };
  let narrowDots = 0;
  let wideDots = 0;
  for (const inst of f.body.insts) {
    if (inst.kind === "for" || inst.kind === "if") return undefined;
    if (inst.kind === "store") {
      if ([...inst.indices, inst.value, ...(inst.pred ? [inst.pred] : [])].some((v) => narrow.has(v))) return undefined;
      continue;
    }
    if (inst.kind !== "def") continue;
    const v = inst.value;
    const op = v.op;
    const reads = operands(op).map(stripT);
    if (isWide(s, v)) {
      const before = rows.size + tiles.size;
      for (const o of reads) {
        if (op.kind === "dot" && o === op.a && narrow.has(o)) {
          // P from registers: the other groups read it from shared memory, as wgmma's A.
          if (!swizzleable(o)) return undefined;
          tiles.add(o);
        } else if (!cross(o)) return undefined;
      }
      if (op.kind === "dot") wideDots++;
      if (!at && rows.size + tiles.size > before) at = inst;
    } else if (reads.some((o) => narrow.has(o)) || (narrowShape(v) && plan.layout.get(v) !== "expr")) {
      if (v.type.shape.length < 2) return undefined; // a scalar of narrow values: every group would need it
      narrow.add(v);
      if (op.kind === "dot") narrowDots++;
    }
  }
  if (!at || !narrowDots || !wideDots) return undefined;
  // Everything published must exist where group 0 publishes it: row vectors, and the register
  // tiles a published tile is an expression of.
  const before = new Set<Value>(f.carried);
  for (const inst of f.body.insts) {
    if (inst === at) break;
    if (inst.kind === "def") before.add(inst.value);
  }
  const ready = (v: Value): boolean => before.has(v) || !narrow.has(v) || (plan.layout.get(v) === "expr" && operands(v.op).every(ready));
  if (![...rows].every((r) => before.has(r)) || ![...tiles].every((t) => operands(t.op).every(ready))) return undefined;
  const results: number[] = [];
  for (let k = 0; k < f.carried.length; k++) {
    if (!narrow.has(f.carried[k])) continue;
    if (f.carried[k].type.shape[1] !== 1 || !narrow.has(f.yields[k])) return undefined;
    results.push(k);
  }
  return { loop: f, narrow, rows: [...rows], tiles: [...tiles], at, results };
}

/** Shared bytes a leader loop publishes through: its tiles (1024-byte aligned), then its row slots. */
export function leaderBytes(l: LeaderLoop, M: number): { tiles: number[]; rows: number; size: number } {
  const tiles: number[] = [];
  let at = 0;
  for (const t of l.tiles) {
    tiles.push(at);
    at += Math.ceil((t.type.shape[0] * t.type.shape[1] * 2) / 1024) * 1024;
  }
  const slots = Math.max(l.rows.length, l.results.length);
  return { tiles, rows: at, size: at + slots * M * 4 };
}
