// Helpers of the diagnostics tests (test/diagnostics-*.test.ts): compile one small, complete spec
// given as text under a virtual path and pin every error's message, its 1-based line and column
// as `file:line:col: error:` prints them, what it points at, and its hint.
import { expect } from "vitest";
import type { Diagnostic } from "../../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostic } from "../../compiler/diagnostics/format.ts";
import { lineCol } from "../../compiler/diagnostics/source.ts";
import { compileSources } from "../../compiler/generate.ts";

export interface Expected {
  message: string;
  line: number;
  col: number;
  /** The source text the error points at (what its span starts with). */
  at: string;
  hint?: string;
  notes?: { message: string; line: number; col: number }[];
}

/** Where a diagnostic points, as 1-based line and column; it must have a span. */
export function located(d: { span?: Diagnostic["span"] }) {
  expect(d.span, "a diagnostic must point into the spec").toBeDefined();
  return lineCol(d.span!.file, d.span!.start);
}

/** Compile one spec file and return its errors. */
export function errorsOf(path: string, text: string): Diagnostic[] {
  const { diags } = compileSources({ [path]: text });
  return diags.list.filter((d) => d.severity === "error");
}

/**
 * The spec's errors must be exactly `expected`, in order: same messages, hints and notes, at the
 * same line and column, each pointing at its `at` text, printed as `path:line:col: error: message`.
 */
export function expectErrors(path: string, text: string, expected: Expected[]): Diagnostic[] {
  const errors = errorsOf(path, text);
  const actual = errors.map((d, i) => {
    const { line, col } = located(d);
    const at = expected[i]?.at ?? "";
    const out: Expected = { message: d.message, line, col, at: text.startsWith(at, d.span!.start) ? at : text.slice(d.span!.start, d.span!.start + 12) };
    if (d.hint !== undefined) out.hint = d.hint;
    if (d.notes?.length) out.notes = d.notes.map((n) => ({ message: n.message, ...located(n) }));
    return out;
  });
  expect(actual).toEqual(expected);
  errors.forEach((d, i) => {
    const e = expected[i];
    const formatted = formatDiagnostic(d);
    expect(formatted.startsWith(`${path}:${e.line}:${e.col}: error: ${e.message}\n`), formatted).toBe(true);
    if (e.hint) expect(formatted).toContain(`\nhint: ${e.hint}`);
    for (const n of e.notes ?? []) expect(formatted).toContain(`\n${path}:${n.line}:${n.col}: note: ${n.message}`);
  });
  return errors;
}
