// Diagnostics are collected, never thrown: a run reports every error it can find, and a
// malformed spec must never crash the compiler (the fuzz test holds us to that).
import type { Span } from "./source.ts";

export type Severity = "error" | "warning" | "note";

export interface Diagnostic {
  severity: Severity;
  message: string;
  span?: Span;
  /** One line telling the author what to do about it. */
  hint?: string;
  /** Extra locations, e.g. "called from here" for errors inside inlined functions. */
  notes?: { message: string; span?: Span }[];
}

/** Thrown only to unwind out of a pass after its diagnostics have been recorded. */
export class CompileAbort extends Error {
  constructor() {
    super("compilation aborted after errors");
  }
}

export class Diagnostics {
  readonly list: Diagnostic[] = [];
  private seen = new Set<string>();
  /** Errors reported, duplicates included: a pass compares it before and after to know it failed. */
  errorReports = 0;

  add(d: Diagnostic): void {
    if (d.severity === "error") this.errorReports++;
    // The same function inlined twice reports the same mistake twice; keep one.
    const key = `${d.severity}|${d.message}|${d.span?.file.path}|${d.span?.start}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  error(message: string, span?: Span, hint?: string): void {
    this.add({ severity: "error", message, span, hint });
  }

  warning(message: string, span?: Span, hint?: string): void {
    this.add({ severity: "warning", message, span, hint });
  }

  get errorCount(): number {
    return this.list.filter((d) => d.severity === "error").length;
  }

  hasErrors(): boolean {
    return this.errorCount > 0;
  }
}
