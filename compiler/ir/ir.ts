// The tile IR: SSA values over tiles (rank 0 scalars or rank 2 [rows, cols] tiles) in
// structured control flow (for with loop-carried values, if, return). Backends decide who holds
// which element (layouts, see backends/*/layout.ts); the IR only says what is computed.
import type { Span } from "../diagnostics/source.ts";
import type { ScalarBoundSpec, SymExpr } from "../../runtime/manifest.ts";

// f8e4m3 (OCP E4M3FN: 4 exponent bits, 3 mantissa bits, no infinities, largest 448) is a storage
// type for quantized KV caches: tiles of it are floats like any other, rounded to its grid.
export type ScalarType = "f32" | "f16" | "bf16" | "f8e4m3" | "i32" | "u32" | "bool";
export const FLOAT_TYPES: readonly ScalarType[] = ["f32", "f16", "bf16", "f8e4m3"];
export const isFloat = (t: ScalarType): boolean => t === "f32" || t === "f16" || t === "bf16" || t === "f8e4m3";
export const isInt = (t: ScalarType): boolean => t === "i32" || t === "u32";

export interface TileType {
  dtype: ScalarType;
  /** [] for a scalar, [rows, cols] for a tile; a 1 marks a broadcast axis. */
  shape: number[];
}

export type BinOp = "add" | "sub" | "mul" | "div" | "rem" | "min" | "max" | "lt" | "le" | "gt" | "ge" | "eq" | "ne" | "and" | "or";
export type UnOp = "neg" | "not" | "exp" | "exp2" | "log" | "log2" | "tanh" | "sqrt" | "rsqrt" | "abs";
export type ReduceOp = "max" | "min" | "sum";

export interface TensorParam {
  name: string;
  dtype: ScalarType;
  shape: SymExpr[];
  /** Stored to by the kernel (so loads from it are not pure). */
  written: boolean;
  span: Span;
}

export interface ScalarParam {
  name: string;
  dtype: ScalarType;
  span: Span;
  /** `require` bounds the runtime checks at launch (check/scalar-bounds.ts): facts passes may use. */
  bounds?: ScalarBoundSpec[];
}

export type Op =
  | { kind: "const"; value: number | boolean }
  | { kind: "arg"; name: string }
  | { kind: "dim"; name: string }
  | { kind: "program_id"; axis: number; name: string }
  /** start + [0, len) along `axis`; the type's shape gives len. */
  | { kind: "iota"; start: Value; axis: 0 | 1 }
  | { kind: "binary"; op: BinOp; a: Value; b: Value }
  | { kind: "unary"; op: UnOp; a: Value }
  | { kind: "select"; cond: Value; a: Value; b: Value }
  | { kind: "cast"; a: Value }
  /** Gather: element (r, c) reads tensor[indices[0](r,c), ...]; predicated off → `other`. */
  | { kind: "load"; tensor: TensorParam; indices: Value[]; pred?: Value; other: number }
  /** a: [m, k] · b: [k, n] → [m, n], accumulated in f32. */
  | { kind: "dot"; a: Value; b: Value }
  | { kind: "transpose"; a: Value }
  /** Reduce along axis 1: [r, c] → [r, 1]. */
  | { kind: "reduce"; op: ReduceOp; a: Value }
  /** Loop induction variable or loop-carried value inside the body. */
  | { kind: "loop_var"; loop: ForInst; index: number }
  /** Value of a for/if after it completes. */
  | { kind: "result"; inst: ForInst | IfInst; index: number };

export interface Value {
  id: number;
  type: TileType;
  op: Op;
  /** Literal or compile-time constant: adapts its dtype to the other operand. */
  weak?: boolean;
  /** The spec's name for it (from `let`), to make generated code readable. */
  name?: string;
  span?: Span;
}

export interface DefInst {
  kind: "def";
  value: Value;
}

export interface StoreInst {
  kind: "store";
  tensor: TensorParam;
  indices: Value[];
  value: Value;
  pred?: Value;
  span?: Span;
}

/** Per-tile mask status of a loop (see passes/mask-analysis.ts). */
export type TileStatus = "any" | "partial" | "full";

export interface ForInst {
  kind: "for";
  /** The induction variable (scalar i32), a loop_var with index -1. */
  iv: Value;
  lo: Value;
  hi: Value;
  /** Initial values of loop-carried values, and their in-body placeholders. */
  inits: Value[];
  carried: Value[];
  body: Block;
  /** Values at the end of the body that become the next iteration's carried values. */
  yields: Value[];
  results: Value[];
  /** The `mask live = ...` predicate, defined in the body; iterations where it is all false are skipped. */
  mask?: Value;
  status: TileStatus;
  /**
   * Set when the mask analysis proved the loop runs at most this many iterations (a partial
   * segment no wider than one tile): backends may emit a branch instead of a loop.
   */
  maxTrips?: number;
  span?: Span;
}

export interface IfInst {
  kind: "if";
  cond: Value;
  then: Block;
  else: Block;
  thenYields: Value[];
  elseYields: Value[];
  results: Value[];
  span?: Span;
}

export interface ReturnInst {
  kind: "return";
  span?: Span;
}

export type Inst = DefInst | StoreInst | ForInst | IfInst | ReturnInst;

export interface Block {
  insts: Inst[];
}

export interface GridAxis {
  name: string;
  extent: SymExpr;
}

export interface KernelIR {
  /** Instance name, e.g. "mha_prefill.hd64.f32". */
  name: string;
  kernel: string;
  span: Span;
  params: Record<string, number | boolean | string>;
  tuned: string[];
  tensors: TensorParam[];
  scalars: ScalarParam[];
  dims: string[];
  grid: GridAxis[];
  body: Block;
}

export function shapeEq(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function showType(t: TileType): string {
  return t.shape.length ? `${t.dtype}[${t.shape.join(", ")}]` : t.dtype;
}

/** Every value a value's op reads (not counting loop/if structure). */
export function operands(op: Op): Value[] {
  switch (op.kind) {
    case "iota":
      return [op.start];
    case "binary":
      return [op.a, op.b];
    case "unary":
    case "cast":
    case "transpose":
    case "reduce":
      return [op.a];
    case "select":
      return [op.cond, op.a, op.b];
    case "load":
      return op.pred ? [...op.indices, op.pred] : op.indices;
    case "dot":
      return [op.a, op.b];
    default:
      return [];
  }
}

/** Walk every instruction, entering loop and branch bodies. */
export function walkInsts(block: Block, fn: (inst: Inst, block: Block) => void): void {
  for (const inst of block.insts) {
    fn(inst, block);
    if (inst.kind === "for") walkInsts(inst.body, fn);
    else if (inst.kind === "if") {
      walkInsts(inst.then, fn);
      walkInsts(inst.else, fn);
    }
  }
}
