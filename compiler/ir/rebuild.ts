// Replays a block through an IRBuilder with some values substituted. Passes use it to clone loop
// bodies (a loop split into partial and full segments gets one copy per segment) and to
// specialise them: substituting `true` for a mask lets the builder's folding remove predicates.
import { IRBuilder } from "./builder.ts";
import type { Block, ForInst, IfInst, KernelIR, Value } from "./ir.ts";

/** Rebuild a whole kernel with a pass's Rebuilder; returns the new body and the next free id. */
export function rebuildKernel(ir: KernelIR, nextId: number, make: (b: IRBuilder) => Rebuilder): { ir: KernelIR; nextId: number } {
  const b = new IRBuilder(undefined, nextId);
  make(b).block(ir.body);
  return { ir: { ...ir, body: b.finish() }, nextId: b.newId() };
}

export class Rebuilder {
  /** Substitutions that hold even where the block redefines the value (a mask made `true`). */
  readonly pinned = new Map<Value, Value>();
  readonly map = new Map<Value, Value>();

  constructor(protected b: IRBuilder) {}

  get(v: Value): Value {
    return this.pinned.get(v) ?? this.map.get(v) ?? v;
  }

  /** Replay every instruction of `block` at the builder's insertion point. */
  block(block: Block): void {
    for (const inst of block.insts) {
      switch (inst.kind) {
        case "def": {
          const nv = this.pinned.get(inst.value) ?? this.value(inst.value);
          if (inst.value.name && !nv.name) nv.name = inst.value.name;
          this.map.set(inst.value, nv);
          break;
        }
        case "store": {
          const pred = inst.pred && this.get(inst.pred);
          if (pred && pred.op.kind === "const" && pred.op.value === false) break;
          this.b.emit({
            kind: "store", tensor: inst.tensor, indices: inst.indices.map((v) => this.get(v)), value: this.get(inst.value),
            pred: pred && pred.op.kind === "const" && pred.op.value === true ? undefined : pred, span: inst.span,
          });
          break;
        }
        case "return":
          this.b.emit(inst);
          break;
        case "for":
          this.onFor(inst);
          break;
        case "if":
          this.ifInst(inst);
          break;
      }
    }
  }

  /** Passes override this to transform loops; the default clones them. */
  protected onFor(f: ForInst): void {
    this.forInst(f);
  }

  /** The rebuilt form of a value whose operands are already mapped. */
  value(v: Value): Value {
    const b = this.b;
    const g = (x: Value) => this.get(x);
    const op = v.op;
    b.span = v.span;
    switch (op.kind) {
      case "const": return b.const(op.value, v.type.dtype, v.type.shape, v.weak);
      case "arg": return b.arg(op.name, v.type.dtype);
      case "dim": return b.dim(op.name);
      case "program_id": return b.programId(op.axis, op.name);
      case "iota": return b.iota(g(op.start), op.axis === 0 ? v.type.shape[0] : v.type.shape[1], op.axis);
      case "binary": return b.binary(op.op, g(op.a), g(op.b));
      case "unary": return b.unary(op.op, g(op.a));
      case "select": return b.select(g(op.cond), g(op.a), g(op.b));
      case "cast": return b.cast(g(op.a), v.type.dtype);
      case "load": return b.load(op.tensor, op.indices.map(g), v.type.shape, op.pred && g(op.pred), op.other);
      case "dot": return b.dot(g(op.a), g(op.b));
      case "transpose": return b.transpose(g(op.a));
      case "reduce": return b.reduce(op.op, g(op.a));
      case "loop_var":
      case "result":
        return g(v);
    }
  }

  /** Clone a loop; returns the clone (already emitted). */
  forInst(f: ForInst, lo = this.get(f.lo), hi = this.get(f.hi), inits = f.inits.map((v) => this.get(v))): ForInst {
    const b = this.b;
    const loop: ForInst = { ...f, lo, hi, inits, carried: [], yields: [], results: [], body: { insts: [] } };
    loop.iv = b.detached(f.iv.type, { kind: "loop_var", loop, index: -1 });
    loop.carried = f.carried.map((c, i) => b.detached(c.type, { kind: "loop_var", loop, index: i }));
    this.map.set(f.iv, loop.iv);
    f.carried.forEach((c, i) => this.map.set(c, loop.carried[i]));
    b.nested(() => this.block(f.body), loop.body);
    loop.yields = f.yields.map((v) => this.get(v));
    loop.mask = f.mask && this.get(f.mask);
    loop.results = f.results.map((r, i) => b.detached(r.type, { kind: "result", inst: loop, index: i }));
    f.results.forEach((r, i) => this.map.set(r, loop.results[i]));
    b.emit(loop);
    return loop;
  }

  private ifInst(f: IfInst): void {
    const b = this.b;
    const cond = this.get(f.cond);
    if (cond.op.kind === "const") {
      // A folded condition: inline the branch that runs.
      const [blk, ys] = cond.op.value ? [f.then, f.thenYields] : [f.else, f.elseYields];
      this.block(blk);
      f.results.forEach((r, i) => this.map.set(r, this.get(ys[i])));
      return;
    }
    const inst: IfInst = { ...f, cond, then: { insts: [] }, else: { insts: [] }, thenYields: [], elseYields: [], results: [] };
    b.nested(() => this.block(f.then), inst.then);
    inst.thenYields = f.thenYields.map((v) => this.get(v));
    b.nested(() => this.block(f.else), inst.else);
    inst.elseYields = f.elseYields.map((v) => this.get(v));
    inst.results = f.results.map((r, i) => b.detached(r.type, { kind: "result", inst, index: i }));
    f.results.forEach((r, i) => this.map.set(r, inst.results[i]));
    b.emit(inst);
  }
}
