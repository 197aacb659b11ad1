// A spec's text lives inside a TypeScript file. Every position the compiler reports is an offset
// into that file, so a diagnostic points at the exact .ts line and column the author sees.

export interface SourceFile {
  /** Path as shown in diagnostics (relative to the working directory when possible). */
  path: string;
  /** Full text of the .ts file. */
  text: string;
  /** Offsets where each line starts, for offset → line/col. */
  lineStarts: number[];
}

export function makeSourceFile(path: string, text: string): SourceFile {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return { path, text, lineStarts };
}

/** 1-based line and column of a file offset. */
export function lineCol(file: SourceFile, offset: number): { line: number; col: number } {
  let lo = 0;
  let hi = file.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (file.lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - file.lineStarts[lo] + 1 };
}

export function lineText(file: SourceFile, line: number): string {
  const start = file.lineStarts[line - 1] ?? file.text.length;
  const end = file.lineStarts[line] ?? file.text.length + 1;
  return file.text.slice(start, end - 1).replace(/\r$/, "");
}

/** A half-open range of file offsets in one source file. */
export interface Span {
  file: SourceFile;
  start: number;
  end: number;
}

export function spanText(s: Span): string {
  return s.file.text.slice(s.start, s.end);
}

/** "path:line" for comments in generated code. */
export function spanLabel(s: Span): string {
  const { line } = lineCol(s.file, s.start);
  return `${s.file.path}:${line}`;
}
