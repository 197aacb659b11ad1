// Tokens of the DSL. Keywords are matched before identifiers (longer_alt keeps `format` from
// lexing as `for` + `mat`). dtype names (f32, bf16, ...) stay identifiers: they resolve like any
// other name, so a compile-time `T: dtype` parameter works wherever a dtype does.
import "./polyfill.ts";
import { createToken, Lexer, type TokenType } from "chevrotain";

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function keyword(word: string): TokenType {
  return createToken({ name: word[0].toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier });
}

export const Kernel = keyword("kernel");
export const Fn = keyword("fn");
export const Let = keyword("let");
export const For = keyword("for");
export const In = keyword("in");
export const If = keyword("if");
export const Else = keyword("else");
export const Return = keyword("return");
export const Load = keyword("load");
export const Store = keyword("store");
export const Where = keyword("where");
export const Require = keyword("require");
export const Tune = keyword("tune");
export const Instances = keyword("instances");
export const Target = keyword("target");
export const Grid = keyword("grid");
export const Mask = keyword("mask");
export const True = keyword("true");
export const False = keyword("false");
export const Inf = keyword("inf");

export const FloatLit = createToken({ name: "FloatLit", pattern: /\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/ });
export const IntLit = createToken({ name: "IntLit", pattern: /\d+/ });
export const StringLit = createToken({ name: "StringLit", pattern: /"[^"\n]*"/ });
/** `${module}` in the template: the extractor leaves `@N` where the N-th interpolation stood. */
export const Interp = createToken({ name: "Interp", pattern: /@\d+/ });

export const Arrow = createToken({ name: "Arrow", pattern: /->/ });
export const TransposeOp = createToken({ name: "TransposeOp", pattern: /\^T(?![A-Za-z0-9_])/ });
export const AndAnd = createToken({ name: "AndAnd", pattern: /&&/ });
export const OrOr = createToken({ name: "OrOr", pattern: /\|\|/ });
export const EqEq = createToken({ name: "EqEq", pattern: /==/ });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/ });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/ });
export const GtEq = createToken({ name: "GtEq", pattern: /(?:>=)/ });
export const Lt = createToken({ name: "Lt", pattern: /</ });
export const Gt = createToken({ name: "Gt", pattern: />/ });
export const Assign = createToken({ name: "Assign", pattern: /=/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /-/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
export const Percent = createToken({ name: "Percent", pattern: /%/ });
export const Bang = createToken({ name: "Bang", pattern: /!/ });
export const Question = createToken({ name: "Question", pattern: /\?/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Semi = createToken({ name: "Semi", pattern: /;/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/ });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/ });

const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });
const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n]*/, group: Lexer.SKIPPED });
const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED });

export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  // longest first, so `in` does not shadow `instances` or `inf`
  ...[Kernel, Fn, Let, For, In, If, Else, Return, Load, Store, Where, Require, Tune, Instances, Target, Grid, Mask, True, False, Inf].sort(
    (a, b) => String(b.PATTERN).length - String(a.PATTERN).length,
  ),
  Identifier,
  FloatLit,
  IntLit,
  StringLit,
  Interp,
  Arrow,
  TransposeOp,
  AndAnd,
  OrOr,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Assign,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Bang,
  Question,
  Colon,
  Comma,
  Semi,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
];

export const dslLexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false });
