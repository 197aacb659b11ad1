// Random mutations of spec files for the fuzz test: token- and character-level edits of the
// kernel`...` templates (and of the TypeScript around them: `${...}` includes, backticks).
// Every mutation is a pure function of the text and an Rng, so a seed replays a mutant exactly.
import { type Rng, randInt } from "../reference/rng.ts";

export type TokKind = "ident" | "number" | "string" | "punct" | "space" | "comment" | "backtick" | "interp";

export interface Tok {
  kind: TokKind;
  start: number;
  end: number;
  text: string;
}

const TOKEN_RE =
  /(\s+)|(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|(\$\{[^}`]*\})|(`)|("[^"\n]*"|'[^'\n]*')|(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|([A-Za-z_$][A-Za-z0-9_$]*)|(\^T|->|&&|\|\||==|!=|<=|>=|[^\sA-Za-z0-9_])/gy;

/** A rough lexer, good enough for both the DSL and the TypeScript around it. */
export function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  TOKEN_RE.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(text);
    if (!m || m[0].length === 0) {
      out.push({ kind: "punct", start: pos, end: pos + 1, text: text[pos] });
      pos++;
      continue;
    }
    const kind: TokKind = m[1] ? "space" : m[2] ? "comment" : m[3] ? "interp" : m[4] ? "backtick" : m[5] ? "string" : m[6] ? "number" : m[7] ? "ident" : "punct";
    out.push({ kind, start: pos, end: pos + m[0].length, text: m[0] });
    pos += m[0].length;
  }
  return out;
}

/** [start, end) of each kernel`...` template body (between the backticks). */
export function templateBodies(text: string): [number, number][] {
  const out: [number, number][] = [];
  const re = /kernel`/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const start = m.index + m[0].length;
    const end = text.indexOf("`", start);
    if (end < 0) break;
    out.push([start, end]);
    re.lastIndex = end + 1;
  }
  return out;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[randInt(rng, 0, xs.length)];

const NUMBERS = ["0", "1", "-1", "2", "3.5", "16", "17", "4294967296", "99999999999999999999", "1e40", "0.0", "-0", "128"];
const DTYPES = ["f32", "f16", "bf16", "i32", "u32", "bool", "T", "f64", "f31", "dtype", "int", "float", "x"];
const PUNCT = ["(", ")", "[", "]", "{", "}", ",", ";", ":", "=", "==", "+", "-", "*", "/", "%", "<", ">", "<=", "!", "&&", "||", "?", "^T", "->", ".", "@", "#", "\\", "$", "'", '"', "@0", "@7"];
const KEYWORDS = ["let", "fn", "kernel", "for", "in", "if", "else", "return", "load", "store", "where", "require", "tune", "instances", "grid", "mask", "true", "false", "inf", "tiles", "rows", "cols", "dot", "zeros", "full", "range"];
const INTERPS = ["${}", "${onlineSoftmax}", "${mhaPrefill}", "${onlineSoftmax}${onlineSoftmax}", "${missing}", "${1 + 2}", "${onlineSoftmax.x}", "${ onlineSoftmax }", "$ {onlineSoftmax}", "${`x`}", "${kernel`fn f() { return 1 }`}", ""];
const CHARS = ["`", "$", "{", "}", "\\", "\n", " ", "é", "\u0000", "\u2028", "'", '"', "/", "*", "0", "x", "@"];

interface Ctx {
  text: string;
  toks: Tok[];
  /** Indices of tokens inside template bodies (not whitespace or comments). */
  code: number[];
  idents: string[];
  rng: Rng;
}

type Mutation = { name: string; weight: number; apply: (c: Ctx) => string | undefined };

const splice = (text: string, start: number, end: number, insert: string) => text.slice(0, start) + insert + text.slice(end);

function codeTok(c: Ctx, pred: (t: Tok) => boolean = () => true): Tok | undefined {
  const cands = c.code.map((i) => c.toks[i]).filter(pred);
  return cands.length ? pick(c.rng, cands) : undefined;
}

export const MUTATIONS: Mutation[] = [
  {
    name: "delete-token",
    weight: 4,
    apply: (c) => {
      const t = codeTok(c);
      return t && splice(c.text, t.start, t.end, "");
    },
  },
  {
    name: "duplicate-token",
    weight: 2,
    apply: (c) => {
      const t = codeTok(c);
      return t && splice(c.text, t.start, t.end, `${t.text} ${t.text}`);
    },
  },
  {
    name: "swap-tokens",
    weight: 3,
    apply: (c) => {
      if (c.code.length < 2) return undefined;
      const i = randInt(c.rng, 0, c.code.length - 1);
      // adjacent half the time, anywhere otherwise
      const j = c.rng() < 0.5 ? i + 1 : randInt(c.rng, 0, c.code.length);
      const [a, b] = [c.toks[c.code[Math.min(i, j)]], c.toks[c.code[Math.max(i, j)]]];
      if (a === b) return undefined;
      return c.text.slice(0, a.start) + b.text + c.text.slice(a.end, b.start) + a.text + c.text.slice(b.end);
    },
  },
  {
    name: "replace-identifier",
    weight: 5,
    apply: (c) => {
      const t = codeTok(c, (x) => x.kind === "ident");
      return t && splice(c.text, t.start, t.end, pick(c.rng, c.idents));
    },
  },
  {
    name: "change-number",
    weight: 4,
    apply: (c) => {
      const t = codeTok(c, (x) => x.kind === "number");
      return t && splice(c.text, t.start, t.end, pick(c.rng, NUMBERS));
    },
  },
  {
    name: "insert-punctuation",
    weight: 3,
    apply: (c) => {
      const t = codeTok(c);
      return t && splice(c.text, t.start, t.start, ` ${pick(c.rng, PUNCT)} `);
    },
  },
  {
    name: "insert-keyword",
    weight: 2,
    apply: (c) => {
      const t = codeTok(c);
      return t && splice(c.text, t.start, t.start, ` ${pick(c.rng, KEYWORDS)} `);
    },
  },
  {
    // plausible edits of an operand: `x` → `x^T`, `exp(x)`, `f16(x)`, `-x`, ...
    name: "wrap-operand",
    weight: 2,
    apply: (c) => {
      const t = codeTok(c, (x) => x.kind === "ident" && !KEYWORDS.includes(x.text));
      if (!t) return undefined;
      const w = pick(c.rng, ["^T", "exp", "T", "f16", "f32", "i32", "rowsum", "rowmax", "-", "!", "()"]);
      const wrapped = w === "^T" ? `${t.text}^T` : w === "-" || w === "!" ? `${w}${t.text}` : w === "()" ? `(${t.text}, ${t.text})` : `${w}(${t.text})`;
      return splice(c.text, t.start, t.end, wrapped);
    },
  },
  {
    name: "truncate-template",
    weight: 1,
    apply: (c) => {
      const bodies = templateBodies(c.text);
      if (!bodies.length) return undefined;
      const [s, e] = pick(c.rng, bodies);
      const at = randInt(c.rng, s, e + 1);
      return splice(c.text, at, e, "");
    },
  },
  {
    name: "truncate-file",
    weight: 0.5,
    apply: (c) => c.text.slice(0, randInt(c.rng, 0, c.text.length)),
  },
  {
    name: "mutate-dtype",
    weight: 3,
    apply: (c) => {
      const t = codeTok(c, (x) => x.kind === "ident" && DTYPES.includes(x.text));
      return t && splice(c.text, t.start, t.end, pick(c.rng, DTYPES));
    },
  },
  {
    name: "mutate-interpolation",
    weight: 2,
    apply: (c) => {
      const interps = c.toks.filter((t) => t.kind === "interp");
      const bodies = templateBodies(c.text);
      if (interps.length && c.rng() < 0.7) {
        const t = pick(c.rng, interps);
        return splice(c.text, t.start, t.end, pick(c.rng, INTERPS));
      }
      const t = codeTok(c);
      if (t) return splice(c.text, t.start, t.start, pick(c.rng, INTERPS.filter(Boolean)));
      return bodies.length ? splice(c.text, bodies[0][0], bodies[0][0], "${onlineSoftmax}") : undefined;
    },
  },
  {
    name: "mutate-backtick",
    weight: 1.5,
    apply: (c) => {
      const ticks = c.toks.filter((t) => t.kind === "backtick");
      const r = c.rng();
      if (ticks.length && r < 0.4) {
        const t = pick(c.rng, ticks);
        return splice(c.text, t.start, t.end, pick(c.rng, ["", "``", "\\`", "'", "`;`"]));
      }
      // insert a backtick (or an escaped one, or a `${`) somewhere in a template
      const t = codeTok(c);
      return t && splice(c.text, t.start, t.start, pick(c.rng, ["`", "\\`", "${", "}", "\\", "\\${x}"]));
    },
  },
  {
    name: "char-edit",
    weight: 3,
    apply: (c) => {
      const bodies = templateBodies(c.text);
      const inBody = bodies.length && c.rng() < 0.85;
      const [s, e] = inBody ? pick(c.rng, bodies) : [0, c.text.length];
      if (e <= s) return undefined;
      const at = randInt(c.rng, s, e);
      const r = c.rng();
      if (r < 0.35) return splice(c.text, at, at + 1, "");
      if (r < 0.7) return splice(c.text, at, at, pick(c.rng, CHARS));
      return splice(c.text, at, at + 1, pick(c.rng, CHARS));
    },
  },
  {
    name: "line-edit",
    weight: 1.5,
    apply: (c) => {
      const lines = c.text.split("\n");
      const i = randInt(c.rng, 0, lines.length);
      const r = c.rng();
      if (r < 0.5) lines.splice(i, 1);
      else if (r < 0.8) lines.splice(i, 0, lines[i]);
      else {
        const j = randInt(c.rng, 0, lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
      }
      return lines.join("\n");
    },
  },
];

const TOTAL_WEIGHT = MUTATIONS.reduce((s, m) => s + m.weight, 0);

function context(text: string, rng: Rng): Ctx {
  const toks = tokenize(text);
  const bodies = templateBodies(text);
  const inBody = (t: Tok) => bodies.some(([s, e]) => t.start >= s && t.end <= e);
  const code: number[] = [];
  toks.forEach((t, i) => {
    if (t.kind !== "space" && t.kind !== "comment" && inBody(t)) code.push(i);
  });
  const idents = [...new Set(toks.filter((t) => t.kind === "ident").map((t) => t.text))];
  return { text, toks, code, idents, rng };
}

export interface Mutant {
  text: string;
  /** The mutations applied, in order, for failure messages. */
  ops: string[];
}

/** Apply `count` random mutations (1 to 3 when not given) to a spec file's text. */
export function mutateSpec(text: string, rng: Rng, count = 1 + Math.floor(rng() * rng() * 3)): Mutant {
  const ops: string[] = [];
  let cur = text;
  for (let n = 0, tries = 0; n < count && tries < 20; tries++) {
    let r = rng() * TOTAL_WEIGHT;
    const m = MUTATIONS.find((x) => (r -= x.weight) < 0) ?? MUTATIONS[MUTATIONS.length - 1];
    const next = m.apply(context(cur, rng));
    if (next === undefined || next === cur) continue;
    cur = next;
    ops.push(m.name);
    n++;
  }
  return { text: cur, ops };
}
