// Mask analysis: for a loop with `mask live = pred`, classify each tile index n as empty (no
// element of pred true), full (every element true) or partial, as runtime bounds computed before
// the loop. The loop then runs only over non-empty tiles and is split into
//   [lo, full_lo) partial · [full_lo, full_hi) full · [full_hi, hi) partial,
// where the full segment's body is a copy with the mask, and every load/store predicate the
// analysis can classify, replaced by `true`: full tiles carry no predicate.
//
// The analysis knows comparisons of integer expressions affine in the loop index (through
// rows/cols position tiles) plus loop-invariant terms, combined with &&, || and !; anything else
// is "unknown", which is always safe (never skipped, never full).
import type { IRBuilder } from "../ir/builder.ts";
import type { BinOp, ForInst, KernelIR, Value } from "../ir/ir.ts";
import { operands, walkInsts } from "../ir/ir.ts";
import { Rebuilder, rebuildKernel } from "../ir/rebuild.ts";
import { type Interval, IntervalOps } from "./intervals.ts";

interface Status {
  /** A superset of the tiles where some element is true. */
  some: Interval;
  /** A subset of the tiles where every element is true. */
  every: Interval;
  /**
   * The comparisons that bound `some` and `every` from below (lo) and above (hi), when all of
   * them are known (undefined otherwise): they give a compile-time bound on the partial tiles.
   */
  lo?: Bound[];
  hi?: Bound[];
}

/**
 * One comparison `alpha * n + X + local >= 0` with `local` in [cMin, cMax] and X a loop-invariant
 * value (named by `key`, its expression written out): `some` ends where X + cMax allows, `every`
 * where X + cMin does, so two bounds with the same alpha and X differ by a constant.
 */
interface Bound {
  alpha: number;
  key: string;
  cMin: number;
  cMax: number;
}

/**
 * At most how many partial tiles lie on one side: each bound of `every` against a bound of `some`
 * over the same X, ceil((cMax - cMin) / |alpha|); undefined when a bound has no such partner.
 */
function partialTiles(some: Bound[] | undefined, every: (Bound[] | undefined)[]): number | undefined {
  if (!some || every.some((e) => !e)) return undefined;
  let most = 0;
  for (const j of every.flat() as Bound[]) {
    const widths = some.filter((i) => i.alpha === j.alpha && i.key === j.key).map((i) => Math.ceil((i.cMax - j.cMin) / Math.abs(j.alpha)));
    if (!widths.length) return undefined;
    most = Math.max(most, Math.min(...widths));
  }
  return most;
}

/** An IR expression written out, so that two copies of one computation compare equal. */
function exprKey(v: Value): string {
  const op = v.op;
  switch (op.kind) {
    case "const": return `${op.value}`;
    case "arg": case "dim": return op.name;
    case "binary": return `(${op.op} ${exprKey(op.a)} ${exprKey(op.b)})`;
    case "unary": return `(${op.op} ${exprKey(op.a)})`;
    default: return `%${v.id}`;
  }
}

/** c_n * n + sum(coef * local index of a position tile) + an invariant part within [lo, hi]. */
interface Affine {
  n: number;
  locals: Map<Value, { coef: number; len: number }>;
  inv: Interval | null;
}

const FLIP: Partial<Record<BinOp, BinOp>> = { lt: "ge", le: "gt", gt: "le", ge: "lt", eq: "ne", ne: "eq" };

class MaskAnalysis extends Rebuilder {
  private I: IntervalOps;
  constructor(b: IRBuilder) {
    super(b);
    this.I = new IntervalOps(b);
  }

  protected override onFor(f: ForInst): void {
    if (!f.mask) {
      this.forInst(f);
      return;
    }
    const loop = new LoopFacts(f);
    const I = this.I;
    const b = this.b;
    const live = this.classify(f.mask, false, loop);
    if (!live) {
      // Nothing known about the mask: one loop over every tile, as written.
      this.forInst(f);
      return;
    }
    // Predicates in the body that the analysis understands: folded away in full tiles.
    const preds: { v: Value; s: Status }[] = [];
    for (const p of loop.predicates()) {
      const s = p === f.mask ? live : this.classify(p, false, loop);
      if (s) preds.push({ v: p, s });
    }
    let every = live.every;
    for (const p of preds) every = I.intersect(every, p.s.every);
    const lo0 = this.get(f.lo);
    const hi0 = this.get(f.hi);
    b.span = f.span;
    const lo = I.max(lo0, live.some.lo);
    const hi = b.binary("max", lo, I.min(hi0, b.binary("add", live.some.hi, I.c(1))));
    const clamp = (x: Value, a: Value, c: Value) => I.min(I.max(x, a), c);
    const flo = clamp(every.lo, lo, hi);
    const fhi = clamp(b.binary("add", every.hi, I.c(1)), flo, hi);
    const first = this.forInst(f, lo, flo);
    first.status = "partial";
    for (const p of preds) this.pinned.set(p.v, b.const(true, "bool", p.v.type.shape));
    const full = this.forInst(f, flo, fhi, first.results);
    full.status = "full";
    full.mask = undefined;
    for (const p of preds) this.pinned.delete(p.v);
    const last = this.forInst(f, fhi, hi, full.results);
    last.status = "partial";
    // A side with at most one partial tile (a ragged end: `cols < k_len`) is a branch, not a loop.
    const everyBounds = (side: "lo" | "hi") => [live[side], ...preds.map((p) => p.s[side])];
    if ((partialTiles(live.lo, everyBounds("lo")) ?? 2) <= 1) first.maxTrips = 1;
    if ((partialTiles(live.hi, everyBounds("hi")) ?? 2) <= 1) last.maxTrips = 1;
  }

  /** Status of a boolean value over tile indices (negated when `neg`). */
  private classify(v: Value, neg: boolean, L: LoopFacts): Status | null {
    const I = this.I;
    const op = v.op;
    if (op.kind === "const") {
      const t = Boolean(op.value) !== neg;
      return t ? { some: I.all(), every: I.all(), lo: [], hi: [] } : { some: I.none(), every: I.none(), lo: [], hi: [] };
    }
    if (!L.depends(v)) {
      if (v.type.shape.length) return { some: I.all(), every: I.none() };
      const c = this.hoist(v, L);
      if (!c) return null;
      const cond = neg ? this.b.unary("not", c) : c;
      const s = I.choose(cond, I.all(), I.none());
      return { some: s, every: s, lo: [], hi: [] };
    }
    if (op.kind === "unary" && op.op === "not") return this.classify(op.a, !neg, L);
    if (op.kind === "binary" && (op.op === "and" || op.op === "or")) {
      const a = this.classify(op.a, neg, L);
      const c = this.classify(op.b, neg, L);
      const conj = (op.op === "and") !== neg;
      if (conj) {
        // A conjunction is empty where either side is; full only where both are.
        const some = a && c ? I.intersect(a.some, c.some) : (a ?? c)?.some ?? I.all();
        if (!a || !c) return { some, every: I.none() };
        return { some, every: I.intersect(a.every, c.every), lo: joinBounds(a.lo, c.lo), hi: joinBounds(a.hi, c.hi) };
      }
      if (!a || !c) return null;
      return { some: I.hull(a.some, c.some), every: I.unionSubset(a.every, c.every) };
    }
    if (op.kind === "binary" && FLIP[op.op]) {
      const cmp = neg ? FLIP[op.op]! : op.op;
      return this.compare(cmp, op.a, op.b, L);
    }
    return null;
  }

  private compare(cmp: BinOp, a: Value, c: Value, L: LoopFacts): Status | null {
    if (cmp === "eq") return this.both(this.compare("le", a, c, L), this.compare("ge", a, c, L));
    if (cmp === "ne") {
      const x = this.compare("lt", a, c, L);
      const y = this.compare("gt", a, c, L);
      return x && y ? { some: this.I.hull(x.some, y.some), every: this.I.unionSubset(x.every, y.every) } : null;
    }
    // Normalise to d >= 0.
    const [p, q, off] = cmp === "lt" ? [c, a, -1] : cmp === "le" ? [c, a, 0] : cmp === "gt" ? [a, c, -1] : [a, c, 0];
    const fp = this.affine(p, L);
    const fq = this.affine(q, L);
    if (!fp || !fq) return null;
    const d = this.combine(fp, fq, -1);
    if (!d || !d.inv) return null;
    const b = this.b;
    let localMin = off;
    let localMax = off;
    for (const { coef, len } of d.locals.values()) {
      localMin += Math.min(0, coef * (len - 1));
      localMax += Math.max(0, coef * (len - 1));
    }
    const kMax = b.binary("add", d.inv.hi, this.I.c(localMax));
    const kMin = b.binary("add", d.inv.lo, this.I.c(localMin));
    const status: Status = { some: this.I.solve(d.n, kMax), every: this.I.solve(d.n, kMin) };
    // Bounds in n need one invariant X on both ends (a scalar, not a range over the tile).
    const key = exprKey(d.inv.lo);
    if (key !== exprKey(d.inv.hi)) return status;
    const bound: Bound[] = [{ alpha: d.n, key, cMin: localMin, cMax: localMax }];
    if (d.n > 0) return { ...status, lo: bound, hi: [] };
    if (d.n < 0) return { ...status, lo: [], hi: bound };
    return localMin === localMax ? { ...status, lo: [], hi: [] } : status;
  }

  private both(x: Status | null, y: Status | null): Status | null {
    if (!x || !y) return null;
    return { some: this.I.intersect(x.some, y.some), every: this.I.intersect(x.every, y.every), lo: joinBounds(x.lo, y.lo), hi: joinBounds(x.hi, y.hi) };
  }

  private combine(x: Affine, y: Affine, sign: 1 | -1): Affine | null {
    const locals = new Map(x.locals);
    for (const [k, t] of y.locals) {
      const prev = locals.get(k);
      locals.set(k, { coef: (prev?.coef ?? 0) + sign * t.coef, len: t.len });
    }
    let inv: Interval | null = null;
    const b = this.b;
    if (x.inv && y.inv) {
      inv = sign === 1
        ? { lo: b.binary("add", x.inv.lo, y.inv.lo), hi: b.binary("add", x.inv.hi, y.inv.hi) }
        : { lo: b.binary("sub", x.inv.lo, y.inv.hi), hi: b.binary("sub", x.inv.hi, y.inv.lo) };
    }
    return inv ? { n: x.n + sign * y.n, locals, inv } : null;
  }

  private scale(x: Affine, k: number): Affine {
    const b = this.b;
    const locals = new Map([...x.locals].map(([v, t]) => [v, { coef: t.coef * k, len: t.len }]));
    const inv = x.inv && (k >= 0
      ? { lo: b.binary("mul", x.inv.lo, this.I.c(k)), hi: b.binary("mul", x.inv.hi, this.I.c(k)) }
      : { lo: b.binary("mul", x.inv.hi, this.I.c(k)), hi: b.binary("mul", x.inv.lo, this.I.c(k)) });
    return { n: x.n * k, locals, inv };
  }

  /** An integer value as an affine form in the loop index, or null. */
  private affine(v: Value, L: LoopFacts): Affine | null {
    if (!L.depends(v)) {
      const inv = this.range(v, L);
      return inv ? { n: 0, locals: new Map(), inv } : null;
    }
    const op = v.op;
    if (op.kind === "loop_var" && op.index === -1 && op.loop === L.loop) return { n: 1, locals: new Map(), inv: { lo: this.I.c(0), hi: this.I.c(0) } };
    if (op.kind === "iota") {
      const s = this.affine(op.start, L);
      if (!s || s.locals.size) return null;
      s.locals.set(v, { coef: 1, len: op.axis === 0 ? v.type.shape[0] : v.type.shape[1] });
      return s;
    }
    if (op.kind === "binary") {
      if (op.op === "add" || op.op === "sub") {
        const x = this.affine(op.a, L);
        const y = this.affine(op.b, L);
        return x && y ? this.combine(x, y, op.op === "add" ? 1 : -1) : null;
      }
      if (op.op === "mul") {
        const k = constOf(op.b) ?? constOf(op.a);
        const other = constOf(op.b) !== undefined ? op.a : op.b;
        const x = k === undefined ? null : this.affine(other, L);
        return x && k !== undefined ? this.scale(x, k) : null;
      }
    }
    if (op.kind === "unary" && op.op === "neg") {
      const x = this.affine(op.a, L);
      return x && this.scale(x, -1);
    }
    return null;
  }

  /** [min, max] of a loop-invariant integer value over a tile, as runtime values. */
  private range(v: Value, L: LoopFacts): Interval | null {
    const b = this.b;
    if (v.type.shape.length === 0) {
      const h = this.hoist(v, L);
      return h ? { lo: h, hi: h } : null;
    }
    const op = v.op;
    switch (op.kind) {
      case "const":
        return typeof op.value === "number" ? { lo: this.I.c(op.value), hi: this.I.c(op.value) } : null;
      case "iota": {
        const s = this.hoist(op.start, L);
        const len = op.axis === 0 ? v.type.shape[0] : v.type.shape[1];
        return s ? { lo: s, hi: b.binary("add", s, this.I.c(len - 1)) } : null;
      }
      case "binary": {
        const x = this.range(op.a, L);
        const y = this.range(op.b, L);
        if (!x || !y) return null;
        switch (op.op) {
          case "add": return { lo: b.binary("add", x.lo, y.lo), hi: b.binary("add", x.hi, y.hi) };
          case "sub": return { lo: b.binary("sub", x.lo, y.hi), hi: b.binary("sub", x.hi, y.lo) };
          case "min": case "max": return { lo: b.binary(op.op, x.lo, y.lo), hi: b.binary(op.op, x.hi, y.hi) };
          case "mul": case "div": {
            // Multiplying or dividing by one scalar is monotone (either direction, and truncating
            // division too), so the extremes are among the endpoint results.
            if (op.b.type.shape.length !== 0) return null;
            const k = constOf(op.b);
            if (k !== undefined && k > 0) return { lo: b.binary(op.op, x.lo, y.lo), hi: b.binary(op.op, x.hi, y.hi) };
            const p = b.binary(op.op, x.lo, y.lo);
            const q = b.binary(op.op, x.hi, y.lo);
            return { lo: b.binary("min", p, q), hi: b.binary("max", p, q) };
          }
        }
        return null;
      }
      default:
        return null;
    }
  }

  /** A loop-invariant scalar, rebuilt before the loop when it was defined inside it. */
  private hoist(v: Value, L: LoopFacts): Value | undefined {
    if (!L.inBody(v)) return this.get(v);
    if (v.op.kind === "load" && v.op.tensor.written) return undefined;
    for (const o of operands(v.op)) if (!this.hoist(o, L)) return undefined;
    const h = this.value(v);
    this.map.set(v, h);
    return h;
  }
}

/** The bounds of a conjunction: all of both sides' (unknown when either is). */
function joinBounds(a: Bound[] | undefined, b: Bound[] | undefined): Bound[] | undefined {
  return a && b ? [...a, ...b] : undefined;
}

function constOf(v: Value): number | undefined {
  return v.op.kind === "const" && typeof v.op.value === "number" ? v.op.value : undefined;
}

/** What a loop's body defines and which values depend on the loop index. */
class LoopFacts {
  private defined = new Set<Value>();
  private dep = new Map<Value, boolean>();
  constructor(readonly loop: ForInst) {
    walkInsts(loop.body, (i) => {
      if (i.kind === "def") this.defined.add(i.value);
    });
  }
  inBody(v: Value): boolean {
    return this.defined.has(v) || (v.op.kind === "loop_var" && v.op.loop === this.loop);
  }
  depends(v: Value): boolean {
    const hit = this.dep.get(v);
    if (hit !== undefined) return hit;
    let d = false;
    if (v.op.kind === "loop_var") d = v.op.loop === this.loop;
    else if (v.op.kind === "result") d = this.inBody(v);
    else if (this.defined.has(v)) d = operands(v.op).some((o) => this.depends(o));
    this.dep.set(v, d);
    return d;
  }
  /** Predicates of loads and stores directly in the body, plus the mask. */
  predicates(): Value[] {
    const out = new Set<Value>(this.loop.mask ? [this.loop.mask] : []);
    for (const i of this.loop.body.insts) {
      if (i.kind === "def" && i.value.op.kind === "load" && i.value.op.pred && this.depends(i.value.op.pred)) out.add(i.value.op.pred);
      if (i.kind === "store" && i.pred && this.depends(i.pred)) out.add(i.pred);
    }
    return [...out];
  }
}

export function maskAnalysis(ir: KernelIR, nextId: number): { ir: KernelIR; nextId: number } {
  return rebuildKernel(ir, nextId, (b) => new MaskAnalysis(b));
}
