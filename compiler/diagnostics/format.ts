// Render diagnostics the way people expect from compilers: `file:line:col: error: message`,
// the offending line with a caret underline, then a hint.
import type { Diagnostic } from "./diagnostic.ts";
import { lineCol, lineText, type Span } from "./source.ts";

export function formatLocation(span: Span): string {
  const { line, col } = lineCol(span.file, span.start);
  return `${span.file.path}:${line}:${col}`;
}

function codeFrame(span: Span): string {
  const { line, col } = lineCol(span.file, span.start);
  const end = lineCol(span.file, Math.max(span.start, span.end - 1));
  const text = lineText(span.file, line);
  const width = end.line === line ? Math.max(1, end.col - col + 1) : Math.max(1, text.length - col + 1);
  const gutter = String(line).length;
  const pad = " ".repeat(gutter);
  return `${pad} |\n${line} | ${text}\n${pad} | ${" ".repeat(col - 1)}${"^".repeat(width)}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = d.span ? `${formatLocation(d.span)}: ${d.severity}: ${d.message}` : `${d.severity}: ${d.message}`;
  const parts = [head];
  if (d.span) parts.push(codeFrame(d.span));
  for (const n of d.notes ?? []) parts.push(n.span ? `${formatLocation(n.span)}: note: ${n.message}` : `note: ${n.message}`);
  if (d.hint) parts.push(`hint: ${d.hint}`);
  return parts.join("\n");
}

export function formatDiagnostics(ds: Diagnostic[]): string {
  return ds.map(formatDiagnostic).join("\n\n");
}
