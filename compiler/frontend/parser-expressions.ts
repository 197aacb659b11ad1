// The expression half of the DSL grammar (parser.ts holds the declarations and statements):
// operators by precedence from the conditional down to postfix indexing, calls, loads and
// index lists. Chevrotain rules are class fields; DslParser extends this class and runs the
// grammar's self-analysis once every rule is defined. The grammar is documented in docs/dsl.md.
import "./polyfill.ts";
import { CstParser } from "chevrotain";
import * as T from "./lexer.ts";

export class ExpressionParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: "full" });
  }
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
