// The DSL grammar as a Chevrotain CstParser with error recovery on: a syntax error produces a
// diagnostic and a partial tree, and parsing goes on to find the next error. The grammar is
// documented, construct by construct, in docs/dsl.md.
import type { CstNode, IToken } from "chevrotain";
import * as T from "./lexer.ts";
import { ExpressionParser } from "./parser-expressions.ts";

/** Declarations and statements; the expressions are ExpressionParser's (parser-expressions.ts). */
export class DslParser extends ExpressionParser {
  constructor() {
    super();
    this.performSelfAnalysis();
  }

  module = this.RULE("module", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Interp) },
        { ALT: () => this.SUBRULE(this.fnDecl) },
        { ALT: () => this.SUBRULE(this.kernelAlias) },
        { ALT: () => this.SUBRULE(this.kernelDecl) },
      ]);
    });
  });

  fnDecl = this.RULE("fnDecl", () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.fnParam) });
    this.CONSUME(T.RParen);
    this.SUBRULE(this.block);
  });

  fnParam = this.RULE("fnParam", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeAnn);
    });
  });

  kernelDecl = this.RULE("kernelDecl", () => {
    this.CONSUME(T.Kernel);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Lt);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.ctParam) });
      this.CONSUME(T.Gt);
    });
    this.MANY2(() => this.SUBRULE(this.clause));
    this.CONSUME(T.LParen);
    this.MANY_SEP2({ SEP: T.Comma, DEF: () => this.SUBRULE(this.tensorParam) });
    this.CONSUME(T.RParen);
    this.SUBRULE(this.gridDecl);
    this.SUBRULE(this.block);
  });

  // `kernel swa_paged_fp8 = swa_paged<KV = f8e4m3>` and its own clauses: another kernel's
  // parameters, grid and body with other parameter defaults (see frontend/alias.ts).
  kernelAlias = this.RULE("kernelAlias", () => {
    this.CONSUME(T.Kernel);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.CONSUME2(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Lt);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.aliasSetting) });
      this.CONSUME(T.Gt);
    });
    this.MANY(() => this.SUBRULE(this.clause));
  });

  /** A kernel's (or an alias's) require, tune, instances or target clause. */
  clause = this.RULE("clause", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.requireClause) },
      { ALT: () => this.SUBRULE(this.tuneClause) },
      { ALT: () => this.SUBRULE(this.instancesClause) },
      { ALT: () => this.SUBRULE(this.targetClause) },
    ]);
  });

  aliasSetting = this.RULE("aliasSetting", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.addExpr);
  });

  ctParam = this.RULE("ctParam", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.CONSUME2(T.Identifier);
    });
    this.CONSUME(T.Assign);
    this.SUBRULE(this.addExpr);
  });

  requireClause = this.RULE("requireClause", () => {
    this.CONSUME(T.Require);
    this.SUBRULE(this.expression);
    this.OPTION(() => this.CONSUME(T.StringLit));
  });

  tuneClause = this.RULE("tuneClause", () => {
    this.CONSUME(T.Tune);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.choice) });
  });

  instancesClause = this.RULE("instancesClause", () => {
    this.CONSUME(T.Instances);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.choice) });
  });

  // `target cuda: T in [bf16, f16], BLOCK_M = 64`: instance lists and defaults for one backend;
  // `target cuda sm_80: BLOCK_M = 128`: defaults for one architecture of that backend.
  targetClause = this.RULE("targetClause", () => {
    this.CONSUME(T.Target);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME2(T.Identifier));
    this.CONSUME(T.Colon);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.targetItem) });
  });

  targetItem = this.RULE("targetItem", () => {
    this.CONSUME(T.Identifier);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.In);
          this.CONSUME(T.LBracket);
          this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.addExpr) });
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Assign);
          this.SUBRULE2(this.addExpr);
        },
      },
    ]);
  });

  choice = this.RULE("choice", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.CONSUME(T.LBracket);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.addExpr) });
    this.CONSUME(T.RBracket);
  });

  // `k_descale: f32[batch, kv_heads] if KV == f8e4m3`: present only in instances where it holds.
  tensorParam = this.RULE("tensorParam", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeAnn);
    this.OPTION(() => {
      this.CONSUME(T.If);
      this.SUBRULE(this.expression);
    });
  });

  typeAnn = this.RULE("typeAnn", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LBracket);
      this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.addExpr) });
      this.CONSUME(T.RBracket);
    });
  });

  gridDecl = this.RULE("gridDecl", () => {
    this.CONSUME(T.Grid);
    this.CONSUME(T.LParen);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.gridAxis) });
    this.CONSUME(T.RParen);
  });

  gridAxis = this.RULE("gridAxis", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.SUBRULE(this.expression);
  });

  block = this.RULE("block", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RBrace);
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.forStmt) },
      { ALT: () => this.SUBRULE(this.ifStmt) },
      { ALT: () => this.SUBRULE(this.storeStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      {
        GATE: () => this.LA(1).tokenType === T.Identifier && this.LA(2).tokenType === T.Assign,
        ALT: () => this.SUBRULE(this.assignStmt),
      },
      { ALT: () => this.SUBRULE(this.exprStmt) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semi));
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME2(T.Identifier) });
          this.CONSUME(T.RParen);
        },
      },
    ]);
    this.OPTION(() => {
      this.CONSUME(T.Colon);
      this.SUBRULE(this.typeAnn);
    });
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  assignStmt = this.RULE("assignStmt", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  exprStmt = this.RULE("exprStmt", () => {
    this.SUBRULE(this.expression);
  });

  forStmt = this.RULE("forStmt", () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.In);
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(T.Mask);
      this.CONSUME2(T.Identifier);
      this.CONSUME(T.Assign);
      this.SUBRULE2(this.expression);
    });
    this.SUBRULE(this.block);
  });

  ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.block);
    this.OPTION(() => {
      this.CONSUME(T.Else);
      this.OR([{ ALT: () => this.SUBRULE2(this.block) }, { ALT: () => this.SUBRULE(this.ifStmt) }]);
    });
  });

  storeStmt = this.RULE("storeStmt", () => {
    this.CONSUME(T.Store);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.indexList);
    this.CONSUME(T.RBracket);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(T.Where);
      this.SUBRULE2(this.expression);
    });
  });

  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(T.Return);
    this.OPTION({
      GATE: () => this.LA(1).tokenType !== T.RBrace,
      DEF: () => this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) }),
    });
  });
}

/** One parser instance serves every parse (Chevrotain parsers are reusable and costly to build). */
export const dslParser = new DslParser();

export type { CstNode, IToken };
