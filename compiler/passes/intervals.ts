// Runtime intervals of tile indices for the mask analysis. An interval [lo, hi] (inclusive) is
// a pair of i32 IR values computed before the loop; "unbounded" uses ±BIG sentinels, which are
// only ever combined with min/max/select so they never overflow.
import type { IRBuilder } from "../ir/builder.ts";
import type { Value } from "../ir/ir.ts";

export const BIG = 1 << 28;

export interface Interval {
  lo: Value;
  hi: Value;
}

export class IntervalOps {
  constructor(private b: IRBuilder) {}

  c(x: number): Value {
    return this.b.const(x, "i32");
  }
  all(): Interval {
    return { lo: this.c(-BIG), hi: this.c(BIG) };
  }
  none(): Interval {
    return { lo: this.c(BIG), hi: this.c(-BIG) };
  }
  max(a: Value, b: Value): Value {
    return this.b.binary("max", a, b);
  }
  min(a: Value, b: Value): Value {
    return this.b.binary("min", a, b);
  }
  intersect(a: Interval, b: Interval): Interval {
    return { lo: this.max(a.lo, b.lo), hi: this.min(a.hi, b.hi) };
  }
  /** The smallest interval holding both (a superset of their union). */
  hull(a: Interval, b: Interval): Interval {
    const ea = this.isEmpty(a);
    const eb = this.isEmpty(b);
    const h = { lo: this.min(a.lo, b.lo), hi: this.max(a.hi, b.hi) };
    return this.choose(ea, b, this.choose(eb, a, h));
  }
  /** A contiguous subset of the union: the hull when they overlap or touch, else `a`. */
  unionSubset(a: Interval, b: Interval): Interval {
    const b_ = this.b;
    const ea = this.isEmpty(a);
    const eb = this.isEmpty(b);
    const touch = b_.binary("le", this.max(a.lo, b.lo), b_.binary("add", this.min(a.hi, b.hi), this.c(1)));
    const h = { lo: this.min(a.lo, b.lo), hi: this.max(a.hi, b.hi) };
    return this.choose(ea, b, this.choose(eb, a, this.choose(touch, h, a)));
  }
  isEmpty(a: Interval): Value {
    return this.b.binary("gt", a.lo, a.hi);
  }
  choose(cond: Value, a: Interval, b: Interval): Interval {
    return { lo: this.b.select(cond, a.lo, b.lo), hi: this.b.select(cond, a.hi, b.hi) };
  }
  /** floor(x / d) for a positive constant d (IR division truncates toward zero). */
  floorDiv(x: Value, d: number): Value {
    const b = this.b;
    const q = b.binary("div", x, this.c(d));
    const neg = b.binary("lt", x, this.c(0));
    const exact = b.binary("eq", b.binary("mul", q, this.c(d)), x);
    return b.select(b.binary("and", neg, b.unary("not", exact)), b.binary("sub", q, this.c(1)), q);
  }
  ceilDiv(x: Value, d: number): Value {
    return this.b.unary("neg", this.floorDiv(this.b.unary("neg", x), d));
  }
  /** The n with alpha * n + k >= 0, as an interval (k a runtime value, alpha a constant). */
  solve(alpha: number, k: Value): Interval {
    const b = this.b;
    if (alpha > 0) return { lo: this.ceilDiv(b.unary("neg", k), alpha), hi: this.c(BIG) };
    if (alpha < 0) return { lo: this.c(-BIG), hi: this.floorDiv(k, -alpha) };
    return this.choose(b.binary("ge", k, this.c(0)), this.all(), this.none());
  }
}
