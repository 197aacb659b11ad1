// Workgroup (shared) memory for dot operands, for every backend: each operand tile gets a region
// of a pool, live from its definition (or its fill point) to the last dot that reads it (to the
// end of a loop, when it is defined outside the loop and read inside). Regions with disjoint
// lives share memory: the K tile's space serves the V tile once the scores are computed. The
// backend says how big a region is and how rows are laid out (RegionSpec).
import type { Block, ForInst, Inst, Value } from "../../ir/ir.ts";
import { operands } from "../../ir/ir.ts";

export interface Region {
  pool: string;
  /** Offset in the pool; a backend may hand out a C expression (a double buffer's parity pick). */
  offset: number | string;
  /** Units (elements or bytes, as the backend's RegionSpec says) between consecutive rows. */
  stride: number;
}

/** How a backend lays out one operand tile: its pool, row stride and size in the pool's units. */
export interface RegionSpec {
  pool: string;
  stride: number;
  size: number;
  /** Offsets are rounded up to a multiple of this. */
  align: number;
}

export interface SharedLayout {
  regions: Map<Value, Region>;
  /** Units used per pool. */
  poolSize: Record<string, number>;
  /** Operands filled just before an instruction rather than at their definition. */
  fillBefore: Map<Inst, Value[]>;
}

/**
 * Where to fill each operand that is only an expression of loads (no code at its definition):
 * just before the instruction of its own block that first uses it. The K tile is then loaded
 * right before the scores and the V tile right before P·V, so V can take K's memory.
 */
export function fillAnchors(body: Block, deferred: Set<Value>): Map<Inst, Value[]> {
  const anchors = new Map<Inst, Value[]>();
  const placed = new Set<Value>();
  const usesIn = (inst: Inst): Value[] => {
    const out: Value[] = [];
    const visit = (i: Inst) => {
      if (i.kind === "def") {
        for (const o of operands(i.value.op)) out.push(o.op.kind === "transpose" ? o.op.a : o);
      } else if (i.kind === "for") i.body.insts.forEach(visit);
      else if (i.kind === "if") [...i.then.insts, ...i.else.insts].forEach(visit);
    };
    visit(inst);
    return out;
  };
  const visitBlock = (b: Block) => {
    const defined = new Set<Value>();
    for (const inst of b.insts) {
      for (const u of usesIn(inst)) {
        if (deferred.has(u) && defined.has(u) && !placed.has(u)) {
          placed.add(u);
          anchors.set(inst, [...(anchors.get(inst) ?? []), u]);
        }
      }
      if (inst.kind === "def") defined.add(inst.value);
      if (inst.kind === "for") visitBlock(inst.body);
      if (inst.kind === "if") {
        visitBlock(inst.then);
        visitBlock(inst.else);
      }
    }
  };
  visitBlock(body);
  return anchors;
}

export function allocateShared(
  body: Block,
  operandsNeeded: Set<Value>,
  deferred: Set<Value>,
  specOf: (v: Value) => RegionSpec,
  /**
   * Where a backend starts filling some deferred operands (earlier than their first use), and
   * which operands it keeps resident through a whole loop (copied one iteration ahead).
   */
  issueAt?: (fillBefore: Map<Inst, Value[]>) => { issueBefore: Map<Inst, Value[]>; wholeLoop?: Map<Value, ForInst> },
  /** Operands whose fill reads another operand's region (a widened tile and its staged copy). */
  filledFrom: Map<Value, Value> = new Map(),
): SharedLayout & { issueBefore: Map<Inst, Value[]> } {
  const fillBefore = fillAnchors(body, deferred);
  const { issueBefore, wholeLoop = new Map<Value, ForInst>() } = issueAt ? issueAt(fillBefore) : { issueBefore: new Map<Inst, Value[]>() };
  const loopEnd = new Map<ForInst, number>();
  const anchorOf = new Map<Value, Inst>();
  for (const [inst, vs] of fillBefore) vs.forEach((v) => anchorOf.set(v, inst));
  const issued = new Set([...issueBefore.values()].flat());
  const def = new Map<Value, number>();
  const last = new Map<Value, number>();
  let pos = 0;
  const loopStack: { start: number; defs: Set<Value> }[] = [];
  // First pass: positions; uses inside loops are extended to the loop end afterwards.
  const pendingUses: { v: Value; at: number; loops: { start: number; defs: Set<Value> }[] }[] = [];
  const anchorPos = new Map<Inst, number>();
  const visit = (b: Block) => {
    for (const inst of b.insts) {
      pos++;
      anchorPos.set(inst, pos);
      // A region is live from where its fill starts: the issue point when there is one.
      for (const v of issueBefore.get(inst) ?? []) def.set(v, pos);
      for (const v of fillBefore.get(inst) ?? []) if (!issued.has(v) && !wholeLoop.has(v)) def.set(v, pos);
      for (const [v, f] of wholeLoop) if (f === inst) def.set(v, pos);
      if (inst.kind === "def") {
        if (!anchorOf.has(inst.value) && !wholeLoop.has(inst.value)) def.set(inst.value, pos);
        loopStack.forEach((l) => l.defs.add(inst.value));
        if (inst.value.op.kind === "dot") {
          for (const o of operands(inst.value.op)) {
            const base = o.op.kind === "transpose" ? o.op.a : o;
            pendingUses.push({ v: base, at: pos, loops: [...loopStack] });
          }
        }
      } else if (inst.kind === "for") {
        const frame = { start: pos, defs: new Set<Value>(), end: 0 };
        loopStack.push(frame);
        visit(inst.body);
        loopStack.pop();
        pos++;
        (frame as { end: number }).end = pos;
        loopEnd.set(inst, pos);
      } else if (inst.kind === "if") {
        visit(inst.then);
        visit(inst.else);
      }
    }
  };
  visit(body);
  for (const u of pendingUses) {
    let at = u.at;
    for (const l of u.loops) if (!l.defs.has(u.v)) at = Math.max(at, (l as unknown as { end: number }).end);
    last.set(u.v, Math.max(last.get(u.v) ?? 0, at));
  }
  for (const [v, f] of wholeLoop) last.set(v, Math.max(last.get(v) ?? 0, loopEnd.get(f)!));
  // A staged copy lives until the fill that reads it.
  for (const [v, src] of filledFrom) {
    const at = anchorOf.has(v) ? anchorPos.get(anchorOf.get(v)!) : def.get(v);
    if (at !== undefined) last.set(src, Math.max(last.get(src) ?? 0, at));
  }
  const regions = new Map<Value, Region>();
  const live: { from: number; to: number; pool: string; offset: number; size: number }[] = [];
  const poolSize: Record<string, number> = {};
  const ordered = [...operandsNeeded].filter((v) => def.has(v)).sort((a, b) => def.get(a)! - def.get(b)!);
  for (const v of ordered) {
    const { pool, stride, size, align } = specOf(v);
    const up = (x: number) => Math.ceil(x / align) * align;
    const from = def.get(v)!;
    const to = last.get(v) ?? from;
    // First fit among regions of the same pool whose lives overlap this one.
    const busy = live.filter((r) => r.pool === pool && r.from <= to && from <= r.to).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const r of busy) {
      if (offset + size <= r.offset) break;
      offset = Math.max(offset, up(r.offset + r.size));
    }
    live.push({ from, to, pool, offset, size });
    poolSize[pool] = Math.max(poolSize[pool] ?? 0, offset + size);
    regions.set(v, { pool, offset, stride });
  }
  return { regions, poolSize, fillBefore, issueBefore };
}
