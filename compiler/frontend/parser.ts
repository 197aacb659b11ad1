// The DSL grammar as a Chevrotain CstParser with error recovery on: a syntax error produces a
// diagnostic and a partial tree, and parsing goes on to find the next error. The grammar is
// documented, construct by construct, in docs/dsl.md.
import "./polyfill.ts";
import { CstParser, type CstNode, type IToken } from "chevrotain";
import * as T from "./lexer.ts";

export class DslParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: "full" });
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

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.orExpr);
    this.OPTION(() => {
      this.CONSUME(T.Question);
      this.SUBRULE(this.expression);
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.expression);
    });
  });

  orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.OrOr);
      this.SUBRULE2(this.andExpr);
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.cmpExpr);
    this.MANY(() => {
      this.CONSUME(T.AndAnd);
      this.SUBRULE2(this.cmpExpr);
    });
  });

  cmpExpr = this.RULE("cmpExpr", () => {
    this.SUBRULE(this.addExpr);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq) },
        { ALT: () => this.CONSUME(T.NotEq) },
        { ALT: () => this.CONSUME(T.LtEq) },
        { ALT: () => this.CONSUME(T.GtEq) },
        { ALT: () => this.CONSUME(T.Lt) },
        { ALT: () => this.CONSUME(T.Gt) },
      ]);
      this.SUBRULE2(this.addExpr);
    });
  });

  addExpr = this.RULE("addExpr", () => {
    this.SUBRULE(this.mulExpr);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.mulExpr);
    });
  });

  mulExpr = this.RULE("mulExpr", () => {
    this.SUBRULE(this.unaryExpr);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME(T.Slash) }, { ALT: () => this.CONSUME(T.Percent) }]);
      this.SUBRULE2(this.unaryExpr);
    });
  });

  unaryExpr = this.RULE("unaryExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Minus) }, { ALT: () => this.CONSUME(T.Bang) }]);
          this.SUBRULE(this.unaryExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.postfixExpr) },
    ]);
  });

  postfixExpr = this.RULE("postfixExpr", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.LBracket);
            this.SUBRULE(this.indexList);
            this.CONSUME(T.RBracket);
          },
        },
        { ALT: () => this.CONSUME(T.TransposeOp) },
      ]);
    });
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.FloatLit) },
      { ALT: () => this.CONSUME(T.IntLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Inf) },
      { ALT: () => this.SUBRULE(this.loadExpr) },
      { ALT: () => this.SUBRULE(this.callOrName) },
      // `where(c, a, b)` reads like torch.where; `where` is otherwise the predicate keyword.
      {
        ALT: () => {
          this.CONSUME(T.Where);
          this.CONSUME2(T.LParen);
          this.MANY_SEP2({ SEP: T.Comma, DEF: () => this.SUBRULE2(this.expression) });
          this.CONSUME2(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  callOrName = this.RULE("callOrName", () => {
    this.CONSUME(T.Identifier);
    // A call's '(' sits on the callee's line, so `require A <= B` followed by the kernel's
    // parameter list on the next line does not read as a call of B.
    this.OPTION({
      GATE: () => this.LA(1).startLine === this.LA(0).endLine,
      DEF: () => {
        this.CONSUME(T.LParen);
        this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
        this.CONSUME(T.RParen);
      },
    });
  });

  loadExpr = this.RULE("loadExpr", () => {
    this.CONSUME(T.Load);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.indexList);
    this.CONSUME(T.RBracket);
    this.OPTION(() => {
      this.CONSUME(T.Where);
      this.SUBRULE(this.orExpr);
      this.OPTION2(() => {
        this.CONSUME(T.Else);
        this.SUBRULE(this.unaryExpr);
      });
    });
  });

  indexList = this.RULE("indexList", () => {
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.index) });
  });

  index = this.RULE("index", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Colon);
          this.OPTION(() => this.SUBRULE(this.addExpr));
        },
      },
      {
        ALT: () => {
          this.SUBRULE2(this.addExpr);
          this.OPTION2(() => {
            this.CONSUME2(T.Colon);
            this.OPTION3(() => this.SUBRULE3(this.addExpr));
          });
        },
      },
    ]);
  });
}

/** One parser instance serves every parse (Chevrotain parsers are reusable and costly to build). */
export const dslParser = new DslParser();

export type { CstNode, IToken };
