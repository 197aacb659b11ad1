// Builds IR with constant folding and hash-consing (common subexpression elimination as values
// are created). Sharing matters beyond speed: the mask analysis recognises `kj < k_len` in a load
// predicate as the same value as a conjunct of the loop mask only because both are one value.
import type { Span } from "../diagnostics/source.ts";
import {
  type BinOp, type Block, type Inst, type Op, type ScalarType, type TensorParam, type TileType, type UnOp, type Value,
  isFloat, operands,
} from "./ir.ts";

export function broadcastShapes(a: number[], b: number[]): number[] | null {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    if (a[i] === b[i] || b[i] === 1) out.push(a[i]);
    else if (a[i] === 1) out.push(b[i]);
    else return null;
  }
  return out;
}

const COMPARE = new Set<BinOp>(["lt", "le", "gt", "ge", "eq", "ne"]);

/** Wrap to i32 / u32 the way the GPU would. */
function wrapInt(v: number, t: ScalarType): number {
  return t === "u32" ? v >>> 0 : t === "i32" ? v | 0 : v;
}

export function evalBinary(op: BinOp, x: number | boolean, y: number | boolean, t: ScalarType): number | boolean {
  const a = x as number;
  const b = y as number;
  const int = t === "i32" || t === "u32";
  switch (op) {
    case "add": return int ? wrapInt(a + b, t) : a + b;
    case "sub": return int ? wrapInt(a - b, t) : a - b;
    case "mul": return int ? wrapInt(Math.imul(a, b), t) : a * b;
    case "div": return int ? (b === 0 ? 0 : wrapInt(Math.trunc(a / b), t)) : a / b;
    case "rem": return int ? (b === 0 ? 0 : wrapInt(a % b, t)) : a % b;
    case "min": return Math.min(a, b);
    case "max": return Math.max(a, b);
    case "lt": return a < b;
    case "le": return a <= b;
    case "gt": return a > b;
    case "ge": return a >= b;
    case "eq": return x === y;
    case "ne": return x !== y;
    case "and": return Boolean(x) && Boolean(y);
    case "or": return Boolean(x) || Boolean(y);
  }
}

export function evalUnary(op: UnOp, x: number | boolean): number | boolean {
  const a = x as number;
  switch (op) {
    case "neg": return -a;
    case "not": return !x;
    case "exp": return Math.exp(a);
    case "exp2": return 2 ** a;
    case "log": return Math.log(a);
    case "log2": return Math.log2(a);
    case "tanh": return Math.tanh(a);
    case "sqrt": return Math.sqrt(a);
    case "rsqrt": return 1 / Math.sqrt(a);
    case "abs": return Math.abs(a);
  }
}

interface Scope {
  block: Block;
  cse: Map<string, Value>;
  parent?: Scope;
}

export class IRBuilder {
  private nextId = 1;
  /** Constants, arguments, dims and program ids: defined once at the top of the kernel. */
  readonly prelude: Block = { insts: [] };
  private preludeCse = new Map<string, Value>();
  private scope: Scope;
  /** The span of the spec construct being lowered; attached to every value created. */
  span?: Span;

  constructor(
    readonly body: Block = { insts: [] },
    startId = 1,
  ) {
    this.scope = { block: body, cse: new Map() };
    this.nextId = startId;
  }

  newId(): number {
    return this.nextId++;
  }

  // ---- blocks -------------------------------------------------------------------------------

  /** Run `fn` with a fresh nested block as the insertion point; returns the block. */
  nested(fn: () => void, block: Block = { insts: [] }): Block {
    const saved = this.scope;
    this.scope = { block, cse: new Map(), parent: saved };
    try {
      fn();
    } finally {
      this.scope = saved;
    }
    return block;
  }

  emit(inst: Inst): void {
    this.scope.block.insts.push(inst);
  }

  // ---- value creation -----------------------------------------------------------------------

  /** A value that is not placed in any block (loop variables, results). */
  detached(type: TileType, op: Op): Value {
    return { id: this.newId(), type, op, span: this.span };
  }

  private make(type: TileType, op: Op, pure: boolean, weak = false): Value {
    const global = op.kind === "const" || op.kind === "arg" || op.kind === "dim" || op.kind === "program_id";
    const key = pure ? `${this.key(type, op)}${weak ? "|weak" : ""}` : undefined;
    if (key !== undefined) {
      const hit = global ? this.preludeCse.get(key) : this.lookup(key);
      if (hit) return hit;
    }
    const v: Value = { id: this.newId(), type, op, span: this.span };
    if (weak) v.weak = true;
    if (global) {
      this.prelude.insts.push({ kind: "def", value: v });
      if (key !== undefined) this.preludeCse.set(key, v);
    } else {
      this.scope.block.insts.push({ kind: "def", value: v });
      if (key !== undefined) this.scope.cse.set(key, v);
    }
    return v;
  }

  private lookup(key: string): Value | undefined {
    for (let s: Scope | undefined = this.scope; s; s = s.parent) {
      const v = s.cse.get(key);
      if (v) return v;
    }
    return undefined;
  }

  private key(type: TileType, op: Op): string {
    const ids = operands(op).map((v) => v.id).join(",");
    let attrs = "";
    if (op.kind === "const") attrs = String(op.value);
    else if (op.kind === "arg" || op.kind === "dim") attrs = op.name;
    else if (op.kind === "program_id") attrs = String(op.axis);
    else if (op.kind === "iota") attrs = String(op.axis);
    else if (op.kind === "binary" || op.kind === "unary" || op.kind === "reduce") attrs = op.op;
    else if (op.kind === "load") attrs = `${op.tensor.name}|${op.other}|${op.pred ? "p" : ""}`;
    return `${op.kind}|${type.dtype}|${type.shape.join("x")}|${attrs}|${ids}`;
  }

  const(value: number | boolean, dtype: ScalarType, shape: number[] = [], weak = false): Value {
    const v = dtype === "bool" ? Boolean(value) : dtype === "i32" || dtype === "u32" ? wrapInt(Number(value), dtype) : Number(value);
    return this.make({ dtype, shape }, { kind: "const", value: v }, true, weak);
  }

  arg(name: string, dtype: ScalarType): Value {
    return this.make({ dtype, shape: [] }, { kind: "arg", name }, true);
  }

  dim(name: string): Value {
    return this.make({ dtype: "i32", shape: [] }, { kind: "dim", name }, true);
  }

  programId(axis: number, name: string): Value {
    const v = this.make({ dtype: "i32", shape: [] }, { kind: "program_id", axis, name }, true);
    v.name ??= name;
    return v;
  }

  iota(start: Value, len: number, axis: 0 | 1): Value {
    return this.make({ dtype: "i32", shape: axis === 0 ? [len, 1] : [1, len] }, { kind: "iota", start, axis }, true);
  }

  binary(op: BinOp, a: Value, b: Value): Value {
    const shape = broadcastShapes(a.type.shape, b.type.shape);
    if (!shape) throw new Error(`internal: shapes [${a.type.shape}] and [${b.type.shape}] do not broadcast`);
    const dtype: ScalarType = COMPARE.has(op) ? "bool" : a.type.dtype;
    const folded = this.foldBinary(op, a, b, dtype, shape);
    if (folded) return folded;
    return this.make({ dtype, shape }, { kind: "binary", op, a, b }, true);
  }

  private foldBinary(op: BinOp, a: Value, b: Value, dtype: ScalarType, shape: number[]): Value | undefined {
    const ca = a.op.kind === "const" ? a.op.value : undefined;
    const cb = b.op.kind === "const" ? b.op.value : undefined;
    if (ca !== undefined && cb !== undefined) return this.const(evalBinary(op, ca, cb, a.type.dtype), dtype, shape, a.weak && b.weak);
    const same = (v: Value) => (v.type.shape.length === shape.length && v.type.dtype === dtype ? v : undefined);
    switch (op) {
      case "add":
        if (cb === 0) return same(a);
        if (ca === 0) return same(b);
        break;
      case "sub": {
        if (cb === 0) return same(a);
        // (x + c) - x and (x + c1) - (x + c2): slice widths such as off:off + 16 stay constant.
        const split = (v: Value): [Value, number] =>
          v.op.kind === "binary" && v.op.op === "add" && v.op.b.op.kind === "const" ? [v.op.a, Number(v.op.b.op.value)] : [v, 0];
        const [xa, ka] = split(a);
        const [xb, kb] = split(b);
        if (xa === xb && !isFloat(dtype) && shape.length === 0) return this.const(ka - kb, dtype, shape);
        break;
      }
      case "mul":
        if (cb === 1) return same(a);
        if (ca === 1) return same(b);
        if (!isFloat(dtype) && (ca === 0 || cb === 0)) return this.const(0, dtype, shape);
        break;
      case "div":
        if (cb === 1) return same(a);
        break;
      case "and":
        if (cb === true) return same(a);
        if (ca === true) return same(b);
        if (ca === false || cb === false) return this.const(false, "bool", shape);
        if (a === b) return same(a);
        break;
      case "or":
        if (cb === false) return same(a);
        if (ca === false) return same(b);
        if (ca === true || cb === true) return this.const(true, "bool", shape);
        if (a === b) return same(a);
        break;
    }
    return undefined;
  }

  unary(op: UnOp, a: Value): Value {
    if (a.op.kind === "const") return this.const(evalUnary(op, a.op.value), a.type.dtype, a.type.shape, a.weak);
    if (op === "not" && a.op.kind === "unary" && a.op.op === "not") return a.op.a;
    return this.make({ ...a.type }, { kind: "unary", op, a }, true);
  }

  select(cond: Value, a: Value, b: Value): Value {
    if (cond.op.kind === "const") return cond.op.value ? this.broadcastTo(a, cond, b) : this.broadcastTo(b, cond, a);
    if (a === b) return a;
    const shape = broadcastShapes(broadcastShapes(cond.type.shape, a.type.shape) ?? [], b.type.shape);
    if (!shape) throw new Error("internal: select shapes do not broadcast");
    return this.make({ dtype: a.type.dtype, shape }, { kind: "select", cond, a, b }, true);
  }

  /** After folding a select, keep the shape the unfolded select would have had. */
  private broadcastTo(v: Value, ...others: Value[]): Value {
    let shape = v.type.shape;
    for (const o of others) shape = broadcastShapes(shape, o.type.shape) ?? shape;
    if (shape.length === v.type.shape.length && shape.every((d, i) => d === v.type.shape[i])) return v;
    return this.binary("add", v, this.const(0, v.type.dtype, shape));
  }

  cast(a: Value, dtype: ScalarType): Value {
    if (a.type.dtype === dtype) return a;
    if (a.op.kind === "const") {
      const x = a.op.value;
      const value = dtype === "bool" ? Boolean(x) : typeof x === "boolean" ? Number(x) : x;
      return this.const(dtype === "i32" || dtype === "u32" ? Math.trunc(value as number) : value, dtype, a.type.shape, a.weak);
    }
    return this.make({ dtype, shape: a.type.shape }, { kind: "cast", a }, true);
  }

  load(tensor: TensorParam, indices: Value[], shape: number[], pred: Value | undefined, other: number): Value {
    if (pred && pred.op.kind === "const" && pred.op.value === true) pred = undefined;
    return this.make({ dtype: tensor.dtype, shape }, { kind: "load", tensor, indices, pred, other }, !tensor.written);
  }

  dot(a: Value, b: Value): Value {
    return this.make({ dtype: "f32", shape: [a.type.shape[0], b.type.shape[1]] }, { kind: "dot", a, b }, true);
  }

  transpose(a: Value): Value {
    if (a.op.kind === "transpose") return a.op.a;
    return this.make({ dtype: a.type.dtype, shape: [a.type.shape[1], a.type.shape[0]] }, { kind: "transpose", a }, true);
  }

  reduce(op: "max" | "min" | "sum", a: Value): Value {
    return this.make({ dtype: a.type.dtype, shape: [a.type.shape[0], 1] }, { kind: "reduce", op, a }, true);
  }

  /** Finish: the kernel body with the prelude of constants and arguments in front. */
  finish(): Block {
    return { insts: [...this.prelude.insts, ...this.body.insts] };
  }
}
