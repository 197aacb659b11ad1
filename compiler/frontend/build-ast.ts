// CST → AST. Chevrotain's recovery can leave children missing, so every accessor tolerates
// absence and produces an `error` node rather than throwing.
import type { CstElement, CstNode, IToken } from "chevrotain";
import type { Span, SourceFile } from "../diagnostics/source.ts";
import type * as A from "./ast.ts";

type Kids = Record<string, CstElement[] | undefined>;

export class AstBuilder {
  constructor(
    private file: SourceFile,
    /** File offset of the template's first character: CST offsets are relative to it. */
    private base: number,
  ) {}

  // ---- spans --------------------------------------------------------------------------------

  private tokSpan(t: IToken | undefined): Span {
    if (!t || Number.isNaN(t.startOffset)) return this.emptySpan();
    return { file: this.file, start: this.base + t.startOffset, end: this.base + (t.endOffset ?? t.startOffset) + 1 };
  }

  private nodeSpan(n: CstNode | undefined): Span {
    const loc = n?.location;
    if (!loc || Number.isNaN(loc.startOffset)) return this.emptySpan();
    const end = Number.isNaN(loc.endOffset ?? NaN) ? loc.startOffset : (loc.endOffset as number);
    return { file: this.file, start: this.base + loc.startOffset, end: this.base + end + 1 };
  }

  private emptySpan(): Span {
    return { file: this.file, start: this.base, end: this.base };
  }

  private join(a: Span, b: Span): Span {
    return { file: this.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
  }

  // ---- child access -------------------------------------------------------------------------

  private kids(n: CstNode | undefined): Kids {
    return (n?.children ?? {}) as Kids;
  }
  private toks(n: CstNode | undefined, name: string): IToken[] {
    return (this.kids(n)[name] ?? []) as IToken[];
  }
  private nodes(n: CstNode | undefined, name: string): CstNode[] {
    return (this.kids(n)[name] ?? []) as CstNode[];
  }
  private tok(n: CstNode | undefined, name: string, i = 0): IToken | undefined {
    return this.toks(n, name)[i];
  }
  private node(n: CstNode | undefined, name: string, i = 0): CstNode | undefined {
    return this.nodes(n, name)[i];
  }
  private image(t: IToken | undefined): string {
    return t && typeof t.image === "string" ? t.image : "<missing>";
  }

  // ---- module -------------------------------------------------------------------------------

  module(n: CstNode): A.Module {
    const mod: A.Module = { span: this.nodeSpan(n), includes: [], fns: [], kernels: [], aliases: [] };
    for (const t of this.toks(n, "Interp")) mod.includes.push({ index: Number(t.image.slice(1)), span: this.tokSpan(t) });
    for (const f of this.nodes(n, "fnDecl")) mod.fns.push(this.fnDecl(f));
    for (const k of this.nodes(n, "kernelDecl")) mod.kernels.push(this.kernelDecl(k));
    for (const a of this.nodes(n, "kernelAlias")) mod.aliases.push(this.kernelAlias(a));
    return mod;
  }

  private kernelAlias(n: CstNode): A.KernelAlias {
    const [nameTok, baseTok] = this.toks(n, "Identifier");
    const clauses = this.clauses(n);
    return {
      kind: "alias",
      name: this.image(nameTok),
      nameSpan: this.tokSpan(nameTok),
      base: this.image(baseTok),
      baseSpan: this.tokSpan(baseTok),
      overrides: this.nodes(n, "aliasSetting").map((p) => {
        const id = this.tok(p, "Identifier");
        return { name: this.image(id), span: this.tokSpan(id), value: this.expr(this.node(p, "addExpr")) };
      }),
      ...clauses,
      span: this.nodeSpan(n),
    };
  }

  /** The require, tune, instances and target clauses of a kernel or an alias. */
  private clauses(decl: CstNode): Pick<A.KernelDecl, "requires" | "tune" | "instances" | "targets"> {
    // Each clause sits in its own `clause` node; one node holding all of them reads the same.
    const n: CstNode = { name: "clauses", children: {} };
    for (const c of this.nodes(decl, "clause")) {
      for (const [k, v] of Object.entries(c.children)) (n.children[k] ??= []).push(...v);
    }
    return {
      requires: this.nodes(n, "requireClause").map((r) => {
        const msg = this.tok(r, "StringLit");
        return { cond: this.expr(this.node(r, "expression")), message: msg ? msg.image.slice(1, -1) : undefined, span: this.nodeSpan(r) };
      }),
      tune: this.nodes(n, "tuneClause").flatMap((c) => this.nodes(c, "choice").map((ch) => this.choice(ch))),
      instances: this.nodes(n, "instancesClause").flatMap((c) => this.nodes(c, "choice").map((ch) => this.choice(ch))),
      targets: this.nodes(n, "targetClause").map((c) => {
        const [id, arch] = this.toks(c, "Identifier");
        const clause: A.TargetClause = { target: this.image(id), span: this.tokSpan(id), choices: [], defaults: [] };
        if (arch) Object.assign(clause, { arch: this.image(arch), archSpan: this.tokSpan(arch) });
        for (const item of this.nodes(c, "targetItem")) {
          const name = this.tok(item, "Identifier");
          if (this.toks(item, "In").length) clause.choices.push({ name: this.image(name), span: this.tokSpan(name), values: this.nodes(item, "addExpr").map((e) => this.expr(e)) });
          else clause.defaults.push({ name: this.image(name), span: this.tokSpan(name), value: this.expr(this.node(item, "addExpr")) });
        }
        return clause;
      }),
    };
  }

  private fnDecl(n: CstNode): A.FnDecl {
    const nameTok = this.tok(n, "Identifier");
    return {
      kind: "fn",
      name: this.image(nameTok),
      nameSpan: this.tokSpan(nameTok),
      params: this.nodes(n, "fnParam").map((p) => {
        const id = this.tok(p, "Identifier");
        const ty = this.node(p, "typeAnn");
        return { name: this.image(id), span: this.tokSpan(id), type: ty ? this.typeAnn(ty) : undefined };
      }),
      body: this.block(this.node(n, "block")),
      span: this.nodeSpan(n),
    };
  }

  private kernelDecl(n: CstNode): A.KernelDecl {
    const nameTok = this.tok(n, "Identifier");
    const grid = this.node(n, "gridDecl");
    return {
      kind: "kernel",
      name: this.image(nameTok),
      nameSpan: this.tokSpan(nameTok),
      ctParams: this.nodes(n, "ctParam").map((p) => {
        const ids = this.toks(p, "Identifier");
        return {
          name: this.image(ids[0]),
          span: this.tokSpan(ids[0]),
          annotation: ids[1] ? { name: ids[1].image, span: this.tokSpan(ids[1]) } : undefined,
          default: this.expr(this.node(p, "addExpr")),
        };
      }),
      ...this.clauses(n),
      params: this.nodes(n, "tensorParam").map((p) => {
        const id = this.tok(p, "Identifier");
        const when = this.node(p, "expression");
        return { name: this.image(id), span: this.tokSpan(id), type: this.typeAnn(this.node(p, "typeAnn")), ...(when ? { when: this.expr(when) } : {}) };
      }),
      grid: this.nodes(grid, "gridAxis").map((g) => {
        const id = this.tok(g, "Identifier");
        return { name: this.image(id), span: this.tokSpan(id), extent: this.expr(this.node(g, "expression")) };
      }),
      gridSpan: this.nodeSpan(grid),
      body: this.block(this.node(n, "block")),
      span: this.nodeSpan(n),
    };
  }

  private choice(n: CstNode): A.Choice {
    const id = this.tok(n, "Identifier");
    return { name: this.image(id), span: this.tokSpan(id), values: this.nodes(n, "addExpr").map((e) => this.expr(e)) };
  }

  private typeAnn(n: CstNode | undefined): A.TypeAnn {
    const id = this.tok(n, "Identifier");
    const dims = this.toks(n, "LBracket").length ? this.nodes(n, "addExpr").map((e) => this.expr(e)) : undefined;
    return { dtype: this.image(id), dtypeSpan: this.tokSpan(id), dims, span: this.nodeSpan(n) };
  }

  // ---- statements ---------------------------------------------------------------------------

  private block(n: CstNode | undefined): A.Block {
    return { stmts: this.nodes(n, "statement").map((s) => this.stmt(s)), span: this.nodeSpan(n) };
  }

  private stmt(n: CstNode): A.Stmt {
    const k = this.kids(n);
    const span = this.nodeSpan(n);
    if (k.letStmt) {
      const s = k.letStmt[0] as CstNode;
      const ty = this.node(s, "typeAnn");
      return {
        kind: "let",
        names: this.toks(s, "Identifier").map((t) => ({ name: t.image, span: this.tokSpan(t) })),
        type: ty ? this.typeAnn(ty) : undefined,
        init: this.expr(this.node(s, "expression")),
        span,
      };
    }
    if (k.assignStmt) {
      const s = k.assignStmt[0] as CstNode;
      const id = this.tok(s, "Identifier");
      return { kind: "assign", name: this.image(id), nameSpan: this.tokSpan(id), value: this.expr(this.node(s, "expression")), span };
    }
    if (k.forStmt) {
      const s = k.forStmt[0] as CstNode;
      const ids = this.toks(s, "Identifier");
      const exprs = this.nodes(s, "expression");
      return {
        kind: "for",
        var: this.image(ids[0]),
        varSpan: this.tokSpan(ids[0]),
        iter: this.expr(exprs[0]),
        mask: ids[1] ? { name: ids[1].image, span: this.tokSpan(ids[1]), pred: this.expr(exprs[1]) } : undefined,
        body: this.block(this.node(s, "block")),
        span,
      };
    }
    if (k.ifStmt) return this.ifStmt(k.ifStmt[0] as CstNode);
    if (k.storeStmt) {
      const s = k.storeStmt[0] as CstNode;
      const id = this.tok(s, "Identifier");
      const exprs = this.nodes(s, "expression");
      return {
        kind: "store",
        tensor: this.image(id),
        tensorSpan: this.tokSpan(id),
        indices: this.indexList(this.node(s, "indexList")),
        value: this.expr(exprs[0]),
        pred: exprs[1] ? this.expr(exprs[1]) : undefined,
        span,
      };
    }
    if (k.returnStmt) {
      const s = k.returnStmt[0] as CstNode;
      return { kind: "return", values: this.nodes(s, "expression").map((e) => this.expr(e)), span };
    }
    if (k.exprStmt) return { kind: "expr", expr: this.expr(this.node(k.exprStmt[0] as CstNode, "expression")), span };
    return { kind: "error", span };
  }

  private ifStmt(s: CstNode): A.Stmt {
    const blocks = this.nodes(s, "block");
    const elseIf = this.node(s, "ifStmt");
    let elseBlock: A.Block | undefined;
    if (blocks[1]) elseBlock = this.block(blocks[1]);
    else if (elseIf) {
      const inner = this.ifStmt(elseIf);
      elseBlock = { stmts: [inner], span: inner.span };
    }
    return { kind: "if", cond: this.expr(this.node(s, "expression")), then: this.block(blocks[0]), else: elseBlock, span: this.nodeSpan(s) };
  }

  private indexList(n: CstNode | undefined): A.Index[] {
    return this.nodes(n, "index").map((ix) => {
      const span = this.nodeSpan(ix);
      const exprs = this.nodes(ix, "addExpr");
      const colons = this.toks(ix, "Colon");
      if (colons.length === 0) return { kind: "at", expr: this.expr(exprs[0]), span };
      // `:hi` has the colon first; `lo:` and `lo:hi` have an expression before it.
      const colonFirst = exprs.length === 0 || (exprs[0].location?.startOffset ?? 0) > colons[0].startOffset;
      if (colonFirst) return { kind: "slice", hi: exprs[0] ? this.expr(exprs[0]) : undefined, span };
      return { kind: "slice", lo: this.expr(exprs[0]), hi: exprs[1] ? this.expr(exprs[1]) : undefined, span };
    });
  }

  // ---- expressions --------------------------------------------------------------------------

  expr(n: CstNode | undefined): A.Expr {
    if (!n) return { kind: "error", span: this.emptySpan() };
    const span = this.nodeSpan(n);
    switch (n.name) {
      case "expression": {
        const cond = this.expr(this.node(n, "orExpr"));
        const branches = this.nodes(n, "expression");
        if (!this.toks(n, "Question").length) return cond;
        return { kind: "ternary", cond, then: this.expr(branches[0]), else: this.expr(branches[1]), span };
      }
      case "orExpr":
        return this.chain(n, "andExpr", ["OrOr"]);
      case "andExpr":
        return this.chain(n, "cmpExpr", ["AndAnd"]);
      case "cmpExpr":
        return this.chain(n, "addExpr", ["EqEq", "NotEq", "LtEq", "GtEq", "Lt", "Gt"]);
      case "addExpr":
        return this.chain(n, "mulExpr", ["Plus", "Minus"]);
      case "mulExpr":
        return this.chain(n, "unaryExpr", ["Star", "Slash", "Percent"]);
      case "unaryExpr": {
        const op = this.tok(n, "Minus") ?? this.tok(n, "Bang");
        if (op) {
          const operand = this.expr(this.node(n, "unaryExpr"));
          // Fold `-3` into a literal: diagnostics and constant params read better.
          if (op.image === "-" && (operand.kind === "int" || operand.kind === "float")) return { ...operand, value: -operand.value, span };
          return { kind: "unary", op: op.image as "-" | "!", operand, span };
        }
        return this.expr(this.node(n, "postfixExpr"));
      }
      case "postfixExpr":
        return this.postfix(n);
      case "primary":
        return this.primary(n);
      default:
        return { kind: "error", span };
    }
  }

  /** Left-associative binary chains: operands and operator tokens interleave by offset. */
  private chain(n: CstNode, operandRule: string, opTokens: string[]): A.Expr {
    const operands = this.nodes(n, operandRule).map((o) => this.expr(o));
    const ops = opTokens.flatMap((t) => this.toks(n, t)).sort((a, b) => a.startOffset - b.startOffset);
    if (operands.length === 0) return { kind: "error", span: this.nodeSpan(n) };
    let acc = operands[0];
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1] ?? { kind: "error", span: this.tokSpan(ops[i]) };
      acc = { kind: "binary", op: ops[i].image as A.BinaryOp, left: acc, right, span: this.join(acc.span, right.span) };
    }
    return acc;
  }

  private postfix(n: CstNode): A.Expr {
    let acc = this.expr(this.node(n, "primary"));
    const lists = this.nodes(n, "indexList");
    const brackets = this.toks(n, "LBracket");
    const transposes = this.toks(n, "TransposeOp");
    const events = [
      ...brackets.map((t, i) => ({ at: t.startOffset, kind: "index" as const, i })),
      ...transposes.map((t) => ({ at: t.startOffset, kind: "transpose" as const, i: 0, t })),
    ].sort((a, b) => a.at - b.at);
    for (const ev of events) {
      if (ev.kind === "index") {
        const end = this.tokSpan(this.toks(n, "RBracket")[ev.i]);
        acc = { kind: "index", base: acc, indices: this.indexList(lists[ev.i]), span: this.join(acc.span, end) };
      } else {
        acc = { kind: "transpose", operand: acc, span: this.join(acc.span, this.tokSpan(ev.t)) };
      }
    }
    return acc;
  }

  private primary(n: CstNode): A.Expr {
    const span = this.nodeSpan(n);
    const k = this.kids(n);
    if (k.FloatLit) return { kind: "float", value: Number((k.FloatLit[0] as IToken).image), span };
    if (k.IntLit) return { kind: "int", value: Number((k.IntLit[0] as IToken).image), span };
    if (k.True) return { kind: "bool", value: true, span };
    if (k.False) return { kind: "bool", value: false, span };
    if (k.Inf) return { kind: "inf", span };
    if (k.loadExpr) {
      const l = k.loadExpr[0] as CstNode;
      const id = this.tok(l, "Identifier");
      const pred = this.node(l, "orExpr");
      const other = this.node(l, "unaryExpr");
      return {
        kind: "load",
        tensor: this.image(id),
        tensorSpan: this.tokSpan(id),
        indices: this.indexList(this.node(l, "indexList")),
        pred: pred ? this.expr(pred) : undefined,
        other: other ? this.expr(other) : undefined,
        span,
      };
    }
    if (k.callOrName) {
      const c = k.callOrName[0] as CstNode;
      const id = this.tok(c, "Identifier");
      if (!this.toks(c, "LParen").length) return { kind: "name", name: this.image(id), span };
      return { kind: "call", callee: this.image(id), calleeSpan: this.tokSpan(id), args: this.nodes(c, "expression").map((e) => this.expr(e)), span };
    }
    if (k.Where) {
      const where = k.Where[0] as IToken;
      return { kind: "call", callee: "where", calleeSpan: this.tokSpan(where), args: this.nodes(n, "expression").map((e) => this.expr(e)), span };
    }
    if (k.expression) {
      const elems = this.nodes(n, "expression").map((e) => this.expr(e));
      return elems.length === 1 ? elems[0] : { kind: "tuple", elems, span };
    }
    return { kind: "error", span };
  }
}
