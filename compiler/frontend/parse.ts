// Lex and parse one template into an AST, turning Chevrotain's errors into diagnostics with
// the author's vocabulary ("expected ')'", not "Expecting token of type --> RParen <--").
import type { IRecognitionException, IToken } from "chevrotain";
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { SourceFile, Span } from "../diagnostics/source.ts";
import type { Module } from "./ast.ts";
import { AstBuilder } from "./build-ast.ts";
import { dslLexer } from "./lexer.ts";
import { dslParser } from "./parser.ts";

const TOKEN_TEXT: Record<string, string> = {
  Identifier: "a name", IntLit: "an integer", FloatLit: "a number", StringLit: "a string", Interp: "an interpolated module",
  Arrow: "'->'", TransposeOp: "'^T'", AndAnd: "'&&'", OrOr: "'||'", EqEq: "'=='", NotEq: "'!='", LtEq: "'<='", GtEq: "'>='",
  Lt: "'<'", Gt: "'>'", Assign: "'='", Plus: "'+'", Minus: "'-'", Star: "'*'", Slash: "'/'", Percent: "'%'", Bang: "'!'",
  Question: "'?'", Colon: "':'", Comma: "','", Semi: "';'", LParen: "'('", RParen: "')'", LBracket: "'['", RBracket: "']'",
  LBrace: "'{'", RBrace: "'}'", EOF: "the end of the template",

};

function tokenText(name: string): string {
  return TOKEN_TEXT[name] ?? `'${name.toLowerCase()}'`;
}

const RULE_TEXT: Record<string, string> = {
  statement: "a statement", expression: "an expression", primary: "an expression", unaryExpr: "an expression",
  postfixExpr: "an expression", addExpr: "an expression", index: "an index", module: "'kernel' or 'fn'",
  kernelDecl: "a kernel declaration", kernelAlias: "a kernel alias", clause: "a clause", fnDecl: "a function", typeAnn: "a type", gridAxis: "a grid axis", choice: "a choice",
};

function describeFound(t: IToken): string {
  if (t.tokenType?.name === "EOF") return "end of the template";
  if (t.tokenType?.name === "Interp") return "an interpolation ${...}";
  return `'${t.image}'`;
}

function errorSpan(file: SourceFile, base: number, e: IRecognitionException, textLength: number): Span {
  const t = e.token;
  if (t && !Number.isNaN(t.startOffset) && t.tokenType?.name !== "EOF") {
    return { file, start: base + t.startOffset, end: base + t.endOffset! + 1 };
  }
  const prev = (e as unknown as { previousToken?: IToken }).previousToken;
  const at = prev && !Number.isNaN(prev.endOffset ?? NaN) ? prev.endOffset! + 1 : textLength;
  return { file, start: base + at, end: base + at + 1 };
}

function describe(e: IRecognitionException): { message: string; hint?: string } {
  const found = describeFound(e.token);
  const expected = /-->\s*(\w+)\s*<--/.exec(e.message);
  if (e.name === "MismatchedTokenException" && expected) {
    const want = tokenText(expected[1]);
    const hint = expected[1] === "RParen" || expected[1] === "RBracket" || expected[1] === "RBrace" ? `is a ${want} missing?` : undefined;
    return { message: `expected ${want} but found ${found === "end of the template" ? "the end of the template" : found}`, hint };
  }
  const rule = e.context?.ruleStack?.[e.context.ruleStack.length - 1] ?? "";
  const hint = e.token.tokenType?.name === "Interp" ? "${module} may only stand between declarations, at the template's top level" : undefined;
  if (e.name === "NotAllInputParsedException") return { message: `unexpected ${found}: expected 'kernel' or 'fn'`, hint };
  return { message: `unexpected ${found}: expected ${RULE_TEXT[rule] ?? "something else"}`, hint };
}

/**
 * Parse template text. `text` holds the template body with every `${...}` replaced by `@N` and
 * padding, so its offsets plus `base` are offsets into `file`.
 */
export function parseModule(file: SourceFile, base: number, text: string, diags: Diagnostics): Module {
  const lexed = dslLexer.tokenize(text);
  for (const e of lexed.errors) {
    const ch = text.slice(e.offset, e.offset + Math.max(1, e.length));
    diags.error(`unexpected character '${ch}'`, { file, start: base + e.offset, end: base + e.offset + Math.max(1, e.length) });
  }
  dslParser.input = lexed.tokens;
  const cst = dslParser.module();
  for (const e of dslParser.errors) {
    const { message, hint } = describe(e);
    diags.error(message, errorSpan(file, base, e, text.length), hint);
  }
  return new AstBuilder(file, base).module(cst);
}
