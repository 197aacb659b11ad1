// The typed AST of one DSL module (one kernel`...` template). Every node carries its span in
// the .ts file. Nodes produced by error recovery are `{ kind: "error" }` so later passes can
// skip them without guessing.
import type { Span } from "../diagnostics/source.ts";

export interface Module {
  span: Span;
  /** `${other}` interpolations, in order; resolved by the extractor. */
  includes: { index: number; span: Span }[];
  fns: FnDecl[];
  kernels: KernelDecl[];
  aliases: KernelAlias[];
}

export interface FnDecl {
  kind: "fn";
  name: string;
  nameSpan: Span;
  params: { name: string; span: Span; type?: TypeAnn }[];
  body: Block;
  span: Span;
}

export interface CtParam {
  name: string;
  span: Span;
  /** int, float, bool or dtype; inferred from the default when absent. */
  annotation?: { name: string; span: Span };
  default: Expr;
}

export interface Choice {
  name: string;
  span: Span;
  values: Expr[];
}

export interface TargetClause {
  target: string;
  span: Span;
  /** `target cuda sm_80:` — the clause holds defaults for builds of this architecture alone. */
  arch?: string;
  archSpan?: Span;
  choices: Choice[];
  defaults: { name: string; span: Span; value: Expr }[];
}

export interface RequireClause {
  cond: Expr;
  message?: string;
  span: Span;
}

export interface TensorParam {
  name: string;
  span: Span;
  type: TypeAnn;
  /** `if cond`: a compile-time condition; the parameter exists only in instances where it holds. */
  when?: Expr;
}

export interface TypeAnn {
  dtype: string;
  dtypeSpan: Span;
  /** undefined for scalars (`scale: f32`). */
  dims?: Expr[];
  span: Span;
}

export interface GridAxis {
  name: string;
  span: Span;
  extent: Expr;
}

export interface KernelDecl {
  kind: "kernel";
  name: string;
  nameSpan: Span;
  ctParams: CtParam[];
  requires: RequireClause[];
  tune: Choice[];
  instances: Choice[];
  /** Per-backend instance lists and parameter defaults (`target cuda: ...`). */
  targets: TargetClause[];
  params: TensorParam[];
  grid: GridAxis[];
  gridSpan: Span;
  body: Block;
  span: Span;
}

/** `kernel name = base<P = v, ...>` plus clauses: expanded into a KernelDecl by frontend/alias.ts. */
export interface KernelAlias {
  kind: "alias";
  name: string;
  nameSpan: Span;
  base: string;
  baseSpan: Span;
  overrides: { name: string; span: Span; value: Expr }[];
  requires: RequireClause[];
  tune: Choice[];
  instances: Choice[];
  targets: TargetClause[];
  span: Span;
}

export interface Block {
  stmts: Stmt[];
  span: Span;
}

export type Stmt =
  | { kind: "let"; names: { name: string; span: Span }[]; type?: TypeAnn; init: Expr; span: Span }
  | { kind: "assign"; name: string; nameSpan: Span; value: Expr; span: Span }
  | { kind: "for"; var: string; varSpan: Span; iter: Expr; mask?: { name: string; span: Span; pred: Expr }; body: Block; span: Span }
  | { kind: "if"; cond: Expr; then: Block; else?: Block; span: Span }
  | { kind: "store"; tensor: string; tensorSpan: Span; indices: Index[]; value: Expr; pred?: Expr; span: Span }
  | { kind: "return"; values: Expr[]; span: Span }
  | { kind: "expr"; expr: Expr; span: Span }
  | { kind: "error"; span: Span };

export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||";

export type Expr =
  | { kind: "int"; value: number; span: Span }
  | { kind: "float"; value: number; span: Span }
  | { kind: "bool"; value: boolean; span: Span }
  | { kind: "inf"; span: Span }
  | { kind: "name"; name: string; span: Span }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; span: Span }
  | { kind: "unary"; op: "-" | "!"; operand: Expr; span: Span }
  | { kind: "ternary"; cond: Expr; then: Expr; else: Expr; span: Span }
  | { kind: "call"; callee: string; calleeSpan: Span; args: Expr[]; span: Span }
  | { kind: "index"; base: Expr; indices: Index[]; span: Span }
  | { kind: "load"; tensor: string; tensorSpan: Span; indices: Index[]; pred?: Expr; other?: Expr; span: Span }
  | { kind: "transpose"; operand: Expr; span: Span }
  | { kind: "tuple"; elems: Expr[]; span: Span }
  | { kind: "error"; span: Span };

export type Index = { kind: "at"; expr: Expr; span: Span } | { kind: "slice"; lo?: Expr; hi?: Expr; span: Span };
