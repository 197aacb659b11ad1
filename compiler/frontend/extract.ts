// Find every kernel`...` template in a set of .ts files with ts-morph. The tag is resolved
// through its import (a `kernel` imported from "flashtile" or from our tag module, under any
// alias or namespace), never by matching text; `${module}` interpolations are resolved to the
// template they name, in the same file or through an import. No type checker is needed, which
// keeps extraction fast.
import path from "node:path";
import { type ImportDeclaration, Node, Project, SyntaxKind, ts, type SourceFile as TsSourceFile, type TaggedTemplateExpression } from "ts-morph";
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import { makeSourceFile, type SourceFile, type Span } from "../diagnostics/source.ts";

export interface Template {
  file: SourceFile;
  /** The variable the template is assigned to (`export const mha = kernel...`), if any. */
  name: string | null;
  exported: boolean;
  /** File offset of the template body's first character. */
  base: number;
  /** Template body; each `${...}` replaced by `@N` plus padding, so offsets line up with the file. */
  text: string;
  /** What each interpolation refers to (undefined when it could not be resolved). */
  interps: { index: number; span: Span; target?: Template }[];
}

/** An import's module specifier, or undefined when it is not a string (a syntax error). */
function specifierOf(imp: ImportDeclaration): string | undefined {
  const node = imp.compilerNode.moduleSpecifier;
  return ts.isStringLiteral(node) ? node.text : undefined;
}

const TAG_MODULE = /(^|[\\/])compiler[\\/]frontend[\\/]tag(\.ts|\.js)?$/;

export class Extractor {
  private project = new Project({
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    compilerOptions: { allowJs: false },
  });
  private files = new Map<string, SourceFile>();
  private byNode = new Map<Node, Template>();

  constructor(
    private diags: Diagnostics,
    private cwd = process.cwd(),
  ) {}

  /** Serve `text` as the contents of `absPath` (tests, editors, the fuzzer): nothing is read from disk. */
  setFile(absPath: string, text: string): void {
    this.project.createSourceFile(absPath, text, { overwrite: true });
    this.files.delete(absPath);
  }

  /** All kernel templates declared in the given file, in source order. */
  templatesIn(absPath: string): Template[] {
    const sf = this.tsFile(absPath);
    if (!sf) return [];
    this.reportSyntaxErrors(sf);
    const out: Template[] = [];
    sf.forEachDescendant((node) => {
      if (Node.isTaggedTemplateExpression(node) && this.isKernelTag(node)) {
        const t = this.template(node);
        if (t) out.push(t);
      }
    });
    return out;
  }

  private tsFile(absPath: string): TsSourceFile | undefined {
    try {
      return this.project.getSourceFile(absPath) ?? this.project.addSourceFileAtPath(absPath);
    } catch (e) {
      this.diags.error(`cannot read ${this.rel(absPath)}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** TypeScript's own syntax errors: a broken file could otherwise hide its templates silently. */
  private reportSyntaxErrors(sf: TsSourceFile): void {
    const parse = (sf.compilerNode as unknown as { parseDiagnostics?: { start?: number; length?: number; messageText: unknown }[] }).parseDiagnostics ?? [];
    const file = this.sourceOf(sf);
    for (const d of parse) {
      const start = Math.min(d.start ?? 0, file.text.length);
      const text = typeof d.messageText === "string" ? d.messageText : (d.messageText as { messageText: string }).messageText;
      this.diags.error(`TypeScript: ${text}`, { file, start, end: Math.min(file.text.length, start + Math.max(1, d.length ?? 1)) });
    }
  }

  private rel(p: string): string {
    const r = path.relative(this.cwd, p);
    return r.startsWith("..") ? p : r;
  }

  private sourceOf(sf: TsSourceFile): SourceFile {
    const key = sf.getFilePath();
    let f = this.files.get(key);
    if (!f) {
      f = makeSourceFile(this.rel(key), sf.getFullText());
      this.files.set(key, f);
    }
    return f;
  }

  /** Is this tagged template's tag our `kernel`, judging by where the tag was imported from? */
  private isKernelTag(node: TaggedTemplateExpression): boolean {
    const tag = node.getTag();
    const sf = node.getSourceFile();
    if (Node.isIdentifier(tag)) return this.importOf(sf, tag.getText())?.imported === "kernel";
    if (Node.isPropertyAccessExpression(tag) && tag.getName() === "kernel") {
      const ns = tag.getExpression();
      return Node.isIdentifier(ns) && this.importOf(sf, ns.getText())?.imported === "*";
    }
    return false;
  }

  /** The import that binds `local` in `sf`, if it comes from the flashtile tag module. */
  private importOf(sf: TsSourceFile, local: string): { imported: string } | undefined {
    for (const imp of sf.getImportDeclarations()) {
      const spec = specifierOf(imp);
      if (spec === undefined) continue; // broken import: TypeScript reports it
      const fromTag = spec === "flashtile" || TAG_MODULE.test(path.resolve(path.dirname(sf.getFilePath()), spec));
      if (!fromTag) continue;
      if (imp.getNamespaceImport()?.getText() === local) return { imported: "*" };
      for (const named of imp.getNamedImports()) {
        const alias = named.getAliasNode()?.getText() ?? named.getName();
        if (alias === local) return { imported: named.getName() };
      }
    }
    return undefined;
  }

  private template(node: TaggedTemplateExpression): Template | undefined {
    const cached = this.byNode.get(node);
    if (cached) return cached;
    const sf = node.getSourceFile();
    const file = this.sourceOf(sf);
    const lit = node.getTemplate();
    const base = lit.getStart() + 1;
    const end = lit.getEnd() - 1;
    let text = file.text.slice(base, end);
    const decl = node.getParentIfKind(SyntaxKind.VariableDeclaration);
    const stmt = decl?.getVariableStatement();
    const t: Template = { file, name: decl?.getName() ?? null, exported: !!stmt?.isExported(), base, text, interps: [] };
    this.byNode.set(node, t);
    if (Node.isTemplateExpression(lit)) {
      let prevEnd = lit.getHead().getEnd();
      lit.getTemplateSpans().forEach((span, index) => {
        const from = prevEnd - 2; // the `${`
        const to = span.getLiteral().getStart() + 1; // through the `}`
        const marker = `@${index}`.padEnd(to - from, " ");
        text = text.slice(0, from - base) + marker + text.slice(to - base);
        const expr = span.getExpression();
        const exprSpan: Span = { file, start: expr.getStart(), end: expr.getEnd() };
        t.interps.push({ index, span: exprSpan, target: this.resolveInterp(expr, exprSpan) });
        prevEnd = span.getLiteral().getEnd();
      });
      t.text = text;
    }
    return t;
  }

  /** `${name}` → the kernel template that `name` is bound to (same file or imported). */
  private resolveInterp(expr: Node, span: Span): Template | undefined {
    if (!Node.isIdentifier(expr)) {
      this.diags.error("only a module name can be interpolated here", span, "write ${softmax} where `softmax` is a kernel`...` constant");
      return undefined;
    }
    const name = expr.getText();
    const sf = expr.getSourceFile();
    const local = sf.getVariableDeclaration(name);
    if (local) return this.templateOfDecl(local.getInitializer(), name, span);
    for (const imp of sf.getImportDeclarations()) {
      const named = imp.getNamedImports().find((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name);
      const spec = specifierOf(imp);
      if (!named || spec === undefined) continue;
      if (!spec.startsWith(".")) break;
      const target = this.resolveModulePath(path.resolve(path.dirname(sf.getFilePath()), spec));
      const other = target ? this.tsFile(target) : undefined;
      const decl = other?.getVariableDeclaration(named.getName());
      if (decl) return this.templateOfDecl(decl.getInitializer(), name, span);
      this.diags.error(`cannot find '${named.getName()}' in '${spec}'`, span);
      return undefined;
    }
    this.diags.error(`cannot find the module '${name}'`, span, "import it, or declare it with kernel`...` in this file");
    return undefined;
  }

  private resolveModulePath(p: string): string | undefined {
    for (const cand of [p, p.replace(/\.js$/, ".ts"), `${p}.ts`, path.join(p, "index.ts")]) {
      try {
        if (this.project.getSourceFile(cand) ?? this.project.addSourceFileAtPathIfExists(cand)) return cand;
      } catch {
        /* try the next candidate */
      }
    }
    return undefined;
  }

  private templateOfDecl(init: Node | undefined, name: string, span: Span): Template | undefined {
    if (init && Node.isTaggedTemplateExpression(init) && this.isKernelTag(init)) return this.template(init);
    this.diags.error(`'${name}' is not a kernel\`...\` module`, span);
    return undefined;
  }
}
