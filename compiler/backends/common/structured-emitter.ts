// What every backend's emitter does the same way: lines with indentation and spec-line comments,
// and the structured control flow of the tile IR (loops with loop-carried variables, branches
// with results). Backends supply the syntax: how to declare and fill a register variable, write
// a loop header, read a scalar, copy a whole variable.
import type { Block, ForInst, IfInst, ScalarType, Value } from "../../ir/ir.ts";
import { lineCol, lineText, spanLabel, type Span } from "../../diagnostics/source.ts";

export abstract class StructuredEmitter {
  protected out: string[] = [];
  protected depth = 1;
  protected names = new Map<Value, string>();
  protected lastLine = "";
  /** Loops being emitted, innermost last. */
  protected loops: ForInst[] = [];

  protected abstract readonly facts: { uses: Map<Value, number>; layout: Map<Value, string> };
  /** The backend's spelling of a spec name, and of a constant of a scalar type. */
  protected abstract ident(name: string): string;
  protected abstract literal(value: number | boolean, t: ScalarType): string;

  /** A value's name in the generated code: a field of the scalar parameters, a literal, or `name_id`. */
  name(v: Value): string {
    let n = this.names.get(v);
    if (!n) {
      const op = v.op;
      if (op.kind === "arg" || op.kind === "dim") n = `P.${this.ident(op.name)}`;
      else if (op.kind === "const") n = this.literal(op.value, v.type.dtype);
      else n = `${v.name ? this.ident(v.name) : "t"}_${v.id}`;
      this.names.set(v, n);
    }
    return n;
  }
  protected abstract block(b: Block): void;
  /** Declare a variable able to hold a value of v's type (a register array for a tile). */
  protected abstract declareVar(v: Value, name: string): void;
  /** Write every element of `v` into the variable `target`, laid out like `like`. */
  protected abstract assignRegs(target: string, like: Value, v: Value): void;
  /** The expression of a scalar value. */
  protected abstract scalar(v: Value): string;
  protected abstract loopHead(iv: string, lo: string, hi: string): string;
  /** A statement binding a loop index that runs once (`const int i = lo;`). */
  protected abstract bindIndex(iv: string, lo: string): string;
  /** A statement copying variable `from` into `to`, both holding values like `like`. */
  protected abstract copyVar(like: Value, to: string, from: string): string;

  line(s: string): void {
    this.out.push(`${"  ".repeat(this.depth)}${s}`);
  }
  enter(): void {
    this.depth++;
  }
  leave(): void {
    this.depth--;
  }

  /** A comment with the spec line, when the source line changes. */
  protected origin(span: Span | undefined): void {
    if (!span) return;
    const label = spanLabel(span);
    if (label === this.lastLine) return;
    this.lastLine = label;
    this.line(`// ${label}: ${lineText(span.file, lineCol(span.file, span.start).line).trim()}`);
  }

  protected forLoop(f: ForInst): void {
    this.origin(f.span);
    if (f.status !== "any") this.line(`// ${f.status} tiles`);
    // Carried values live in variables; a loop continuing the previous segment reuses its variables.
    f.carried.forEach((c, k) => {
      const init = f.inits[k];
      const chained = init.op.kind === "result" && this.facts.uses.get(init) === 1 && this.names.has(init);
      if (chained) this.names.set(c, this.name(init));
      else {
        const name = `${init.name ?? c.name ?? "carry"}_${c.id}`.replace(/[^A-Za-z0-9_]/g, "_");
        this.names.set(c, name);
        this.declareVar(c, name);
        this.assignRegs(name, c, init);
      }
      this.names.set(f.results[k], this.names.get(c)!);
    });
    this.loops.push(f);
    this.loopEntry(f);
    this.loopVersions(f, () => {
      const [iv, lo, hi] = [this.name(f.iv), this.scalar(f.lo), this.scalar(f.hi)];
      if (f.maxTrips === 1) {
        // At most one tile (proved by the mask analysis): a branch, which leaves the register
        // allocator no back edge to keep values alive across.
        this.line(`if (${lo} < ${hi}) { // at most one tile`);
        this.enter();
        this.line(this.bindIndex(iv, lo));
      } else {
        this.line(`${this.loopHead(iv, lo, hi)} {`);
        this.enter();
      }
      this.lastLine = "";
      this.loopBody(f);
      this.leave();
      this.line("}");
    });
    this.loops.pop();
    this.lastLine = "";
  }

  /** Hook: the loop itself (`emit`), once; a backend may emit versions of it, one per branch of a condition. */
  protected loopVersions(_f: ForInst, emit: () => void): void {
    emit();
  }

  /** A loop's body and the assignment of its yields to the carried variables. */
  protected loopBody(f: ForInst): void {
    this.block(f.body);
    this.yieldTo(f.carried, f.yields, new Set(f.carried));
  }

  /** Hook: code between a loop's carried variables and its head (the first tile's early work). */
  protected loopEntry(_f: ForInst): void {}

  /** Assign yields to carried/result variables; via temporaries when a yield reads another target. */
  protected yieldTo(targets: Value[], yields: Value[], targetSet: Set<Value>): void {
    const reads = (v: Value, seen = new Set<Value>()): Value[] => {
      if (seen.has(v)) return [];
      seen.add(v);
      if (targetSet.has(v)) return [v];
      if (this.facts.layout.get(v) !== "expr") return [];
      const op = v.op;
      const ops = op.kind === "binary" ? [op.a, op.b] : op.kind === "unary" || op.kind === "cast" ? [op.a] : op.kind === "select" ? [op.cond, op.a, op.b] : [];
      return ops.flatMap((o) => reads(o, seen));
    };
    const pending: [number, string][] = [];
    targets.forEach((t, k) => {
      const y = yields[k];
      // Nothing to do when the yield already lives in the target (updated in place).
      if (y === t || (this.names.has(y) && this.names.get(y) === this.names.get(t))) return;
      if (reads(y).some((r) => r !== t)) {
        const tmp = `next_${t.id}`;
        this.declareVar(t, tmp);
        this.assignRegs(tmp, t, y);
        pending.push([k, tmp]);
      } else this.assignRegs(this.names.get(t)!, t, y);
    });
    for (const [k, tmp] of pending) this.line(this.copyVar(targets[k], this.names.get(targets[k])!, tmp));
  }

  protected ifInst(f: IfInst): void {
    this.origin(f.span);
    f.results.forEach((r) => {
      this.names.set(r, `${r.name ?? "branch"}_${r.id}`);
      this.declareVar(r, this.names.get(r)!);
    });
    this.line(`if (${this.scalar(f.cond)}) {`);
    this.enter();
    this.block(f.then);
    this.yieldTo(f.results, f.thenYields, new Set());
    this.leave();
    if (f.else.insts.length === 0 && f.results.length === 0) this.line("}");
    else {
      this.line("} else {");
      this.enter();
      this.block(f.else);
      this.yieldTo(f.results, f.elseYields, new Set());
      this.leave();
      this.line("}");
    }
    this.lastLine = "";
  }
}
