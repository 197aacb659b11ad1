// Emit WGSL for one kernel instance from its tile IR and its plan. Straight-line scalar code
// becomes `let`s; register tiles become private arrays filled by loops over the invocation's
// slots; dots read workgroup memory; loops and branches map one to one. A comment names the
// spec line each block of code came from.
import type { Block, ForInst, IfInst, Inst, KernelIR, ScalarType, StoreInst, Value } from "../../ir/ir.ts";
import { spanLabel, lineCol, lineText, type Span } from "../../diagnostics/source.ts";
import { broadcastShapes } from "../../ir/builder.ts";
import { type Plan, anywhere } from "./plan.ts";
import type { SharedLayout } from "../common/shared-alloc.ts";
import { StructuredEmitter } from "../common/structured-emitter.ts";
import { type ElementContext, type Site, elem, opExpr, regIndex, slots } from "./elements.ts";
import { ident, literal, symWgsl, wgslType } from "./syntax.ts";

export interface EmitOptions {
  subgroupReduce: boolean;
}

export class WgslEmitter extends StructuredEmitter implements ElementContext {
  /** Loads from workgroup memory since the last barrier (a write must wait for them). */
  private sharedDirty = false;
  protected readonly facts: Plan;

  constructor(
    readonly ir: KernelIR,
    readonly plan: Plan,
    readonly shared: SharedLayout,
    readonly opts: EmitOptions,
  ) {
    super();
    this.facts = plan;
  }

  protected scalar(v: Value): string {
    return elem(this, v, { row: "0", col: "0" });
  }
  protected loopHead(iv: string, lo: string, hi: string): string {
    return `for (var ${iv} = ${lo}; ${iv} < ${hi}; ${iv}++)`;
  }
  protected bindIndex(iv: string, lo: string): string {
    return `let ${iv} = ${lo};`;
  }
  protected copyVar(_like: Value, to: string, from: string): string {
    return `${to} = ${from};`; // WGSL arrays are values
  }

  // ---- naming and text ----------------------------------------------------------------------

  protected ident(name: string): string {
    return ident(name);
  }
  protected literal(value: number | boolean, t: ScalarType): string {
    return literal(value, t);
  }

  offset(tensor: string, indices: string[]): string {
    const parts = indices.map((ix, d) => (d === indices.length - 1 ? `u32(${ix})` : `u32(${ix}) * ${tensor}_stride${d}`));
    return parts.join(" + ");
  }

  // ---- owned-slot loops ---------------------------------------------------------------------

  /** Emit `body` for every slot this invocation owns in a tile of `shape`. */
  private owned(shape: number[], body: (site: Site) => void): void {
    const { TR, TC } = this.plan.grid;
    const [rpt, cpt] = slots(shape, this.plan);
    const open: string[] = [];
    const i = rpt > 1 ? "i" : "0";
    const j = cpt > 1 ? "j" : "0";
    if (rpt > 1) open.push(`for (var i = 0; i < ${rpt}; i++) {`);
    if (cpt > 1) open.push(`for (var j = 0; j < ${cpt}; j++) {`);
    for (const o of open) {
      this.line(o);
      this.depth++;
    }
    const row = shape[0] > 1 ? (rpt > 1 ? `(tr + ${TR} * i)` : "tr") : "0";
    const col = shape[1] > 1 ? (cpt > 1 ? `(tc + ${TC} * j)` : "tc") : "0";
    body({ row, col, i, j });
    for (let k = 0; k < open.length; k++) {
      this.depth--;
      this.line("}");
    }
  }

  private regsDecl(v: Value): string {
    const [rpt, cpt] = slots(v.type.shape, this.plan);
    return `array<${wgslType(v.type.dtype)}, ${rpt * cpt}>`;
  }

  private barrier(): void {
    if (this.out[this.out.length - 1]?.trim() !== "workgroupBarrier();") this.line("workgroupBarrier();");
    this.sharedDirty = false;
  }

  // ---- the kernel ---------------------------------------------------------------------------

  emitBody(): string[] {
    const { TC } = this.plan.grid;
    this.line("let tr = i32(lid) / " + TC + ";");
    this.line("let tc = i32(lid) % " + TC + ";");
    this.line("// WGSL has no infinite constants: build them at run time from their bit patterns.");
    this.line("let zero_bits = lid & 0u;");
    this.line("let POS_INF = bitcast<f32>(0x7f800000u | zero_bits);");
    this.line("let NEG_INF = bitcast<f32>(0xff800000u | zero_bits);");
    this.line("let NAN = bitcast<f32>(0x7fc00000u | zero_bits);");
    for (const t of this.ir.tensors) {
      const dims = t.shape;
      for (let d = 0; d < dims.length - 1; d++) {
        const factors = dims.slice(d + 1).map((x) => (typeof x === "number" ? `${x}u` : `u32(${symWgsl(x)})`));
        this.line(`let ${t.name}_stride${d} = ${factors.join(" * ")};`);
      }
    }
    this.block(this.ir.body);
    return this.out;
  }

  protected block(b: Block): void {
    for (const inst of b.insts) this.inst(inst);
  }

  private inst(inst: Inst): void {
    for (const v of this.shared.fillBefore.get(inst) ?? []) this.fillShared(v);
    switch (inst.kind) {
      case "def":
        this.def(inst.value);
        return;
      case "store":
        this.store(inst);
        return;
      case "for":
        this.forLoop(inst);
        return;
      case "if":
        this.ifInst(inst);
        return;
      case "return":
        this.origin(inst.span);
        this.line("return;");
        return;
    }
  }

  private def(v: Value): void {
    const op = v.op;
    const layout = this.plan.layout.get(v);
    if (op.kind === "const" || op.kind === "arg" || op.kind === "dim") return;
    if (layout === "view") return;
    this.origin(v.span);
    if (layout === "uniform") {
      if (op.kind === "program_id") this.line(`let ${this.name(v)} = i32(wg.${"xyz"[op.axis]});`);
      else this.line(`let ${this.name(v)} = ${opExpr(this, v, { row: "0", col: "0" })};`);
    } else if (layout === "regs") {
      if (op.kind === "dot") this.dot(v);
      else if (op.kind === "reduce") this.reduce(v);
      else {
        this.line(`var ${this.name(v)}: ${this.regsDecl(v)};`);
        this.owned(v.type.shape, (site) => {
          this.line(`${this.name(v)}[${regIndex(v.type.shape, this.plan, site.i!, site.j!)}] = ${opExpr(this, v, site)};`);
        });
      }
    }
    if (this.plan.sharedOperands.has(v) && !anywhere(this.plan, v)) this.fillShared(v);
  }

  /** Copy a dot operand into workgroup memory: cooperatively when it is an expression of loads. */
  private fillShared(v: Value): void {
    const reg = this.shared.regions.get(v);
    if (!reg) return;
    const pool = `smem_${reg.pool}`;
    const [R, C] = v.type.shape;
    const conv = (e: string) => (reg.pool === v.type.dtype ? e : `${reg.pool}(${e})`);
    this.barrier();
    if (anywhere(this.plan, v)) {
      this.line(`for (var e = i32(lid); e < ${R * C}; e += ${this.plan.grid.threads}) {`);
      this.depth++;
      this.line(`let r = e / ${C};`);
      this.line(`let c = e % ${C};`);
      this.line(`${pool}[${reg.offset} + r * ${reg.stride} + c] = ${conv(elem(this, v, { row: "r", col: "c" }))};`);
      this.depth--;
      this.line("}");
    } else {
      this.owned(v.type.shape, (site) => {
        this.line(`${pool}[${reg.offset} + ${site.row} * ${reg.stride} + ${site.col}] = ${conv(elem(this, v, site))};`);
      });
    }
    this.barrier();
  }

  /** Shared-memory address of operand element (r, k) for A, or (k, c) for B. */
  private operandAt(v: Value, r: string, c: string): string {
    const base = v.op.kind === "transpose" ? v.op.a : v;
    const reg = this.shared.regions.get(base);
    if (!reg) throw new Error(`internal: dot operand ${this.name(v)} has no workgroup memory`);
    const [row, col] = v.op.kind === "transpose" ? [c, r] : [r, c];
    const read = `smem_${reg.pool}[${reg.offset} + ${row} * ${reg.stride} + ${col}]`;
    return reg.pool === "f32" ? read : `f32(${read})`;
  }

  private dot(v: Value): void {
    if (v.op.kind !== "dot") return;
    const { a, b } = v.op;
    const K = a.type.shape[1];
    const [rpt, cpt] = slots(v.type.shape, this.plan);
    const { TR, TC } = this.plan.grid;
    const n = this.name(v);
    // Explicitly zeroed: the accumulator is redeclared every loop iteration.
    this.line(`var ${n} = ${this.regsDecl(v)}();`);
    this.line(`for (var k = 0; k < ${K}; k++) {`);
    this.depth++;
    this.line(`var a: array<f32, ${rpt}>;`);
    this.line(`var b: array<f32, ${cpt}>;`);
    const rowOf = (i: string) => (v.type.shape[0] > 1 ? (rpt > 1 ? `(tr + ${TR} * ${i})` : "tr") : "0");
    const colOf = (j: string) => (v.type.shape[1] > 1 ? (cpt > 1 ? `(tc + ${TC} * ${j})` : "tc") : "0");
    this.line(`for (var i = 0; i < ${rpt}; i++) { a[i] = ${this.operandAt(a, rowOf("i"), "k")}; }`);
    this.line(`for (var j = 0; j < ${cpt}; j++) { b[j] = ${this.operandAt(b, "k", colOf("j"))}; }`);
    this.line(`for (var i = 0; i < ${rpt}; i++) {`);
    this.line(`  for (var j = 0; j < ${cpt}; j++) { ${n}[${regIndex(v.type.shape, this.plan, "i", "j")}] = fma(a[i], b[j], ${n}[${regIndex(v.type.shape, this.plan, "i", "j")}]); }`);
    this.line("}");
    this.depth--;
    this.line("}");
    this.sharedDirty = true;
  }

  private reduce(v: Value): void {
    if (v.op.kind !== "reduce") return;
    const src = v.op.a;
    const { TC, threads } = this.plan.grid;
    const op = v.op.op;
    const t = wgslType(v.type.dtype);
    const init = op === "sum" ? literal(0, v.type.dtype) : literal(op === "max" ? -Infinity : Infinity, v.type.dtype);
    const combine = (x: string, y: string) => (op === "sum" ? `${x} + ${y}` : `${op}(${x}, ${y})`);
    const n = this.name(v);
    const [rpt] = slots(v.type.shape, this.plan);
    const [, cpt] = slots(src.type.shape, this.plan);
    this.line(`var ${n}: ${this.regsDecl(v)};`);
    const wg = TC > 1 && !this.opts.subgroupReduce;
    this.line(`for (var i = 0; i < ${rpt}; i++) {`);
    this.depth++;
    this.line(`var acc: ${t} = ${init};`);
    const row = v.type.shape[0] > 1 ? `(tr + ${this.plan.grid.TR} * i)` : "0";
    this.line(`for (var j = 0; j < ${cpt}; j++) {`);
    const col = src.type.shape[1] > 1 ? (cpt > 1 ? `(tc + ${TC} * j)` : "tc") : "0";
    this.line(`  acc = ${combine("acc", elem(this, src, { row, col, i: "i", j: "j" }))};`);
    this.line("}");
    if (TC > 1 && !wg) {
      this.line(`// combine the ${TC} invocations that share a row (one subgroup)`);
      this.line(`for (var o = ${TC / 2}u; o > 0u; o >>= 1u) { acc = ${combine("acc", "subgroupShuffleXor(acc, o)")}; }`);
      this.line(`${n}[i] = acc;`);
    } else if (wg) {
      this.line(`red_${t}[i * ${threads} + i32(lid)] = acc;`);
    } else this.line(`${n}[i] = acc;`);
    this.depth--;
    this.line("}");
    if (wg) {
      this.line(`// combine the ${TC} invocations that share a row through workgroup memory`);
      this.barrier();
      this.line(`for (var i = 0; i < ${rpt}; i++) {`);
      this.line(`  var acc: ${t} = ${init};`);
      this.line(`  for (var k = 0; k < ${TC}; k++) { acc = ${combine("acc", `red_${t}[i * ${threads} + tr * ${TC} + k]`)}; }`);
      this.line(`  ${n}[i] = acc;`);
      this.line("}");
      this.barrier();
    }
  }

  private store(s: StoreInst): void {
    this.origin(s.span);
    const full = s.indices.reduce((acc, ix) => broadcastShapes(acc, ix.type.shape) ?? acc, [] as number[]);
    const t = s.tensor;
    const emitOne = (site: Site) => {
      const ix = s.indices.map((x) => elem(this, x, site));
      const val = elem(this, s.value, site);
      const write = t.dtype === "f8e4m3" ? `${t.name}_put(${this.offset(t.name, ix)}, ${val});` : `${t.name}[${this.offset(t.name, ix)}] = ${val};`;
      this.line(s.pred ? `if (${elem(this, s.pred, site)}) { ${write} }` : write);
    };
    // Replicated axes are written by one invocation only.
    const guard: string[] = [];
    if (full.length === 0 || full[0] === 1) guard.push("tr == 0");
    if (full.length === 0 || full[1] === 1) guard.push("tc == 0");
    if (guard.length) {
      this.line(`if (${guard.join(" && ")}) {`);
      this.depth++;
    }
    if (full.length === 0) emitOne({ row: "0", col: "0", i: "0", j: "0" });
    else this.owned(full, emitOne);
    if (guard.length) {
      this.depth--;
      this.line("}");
    }
  }

  /** Write `v` into the register variable `target` (a carried value or branch result). */
  protected assignRegs(target: string, like: Value, v: Value): void {
    if (like.type.shape.length === 0) {
      this.line(`${target} = ${elem(this, v, { row: "0", col: "0" })};`);
      return;
    }
    this.owned(like.type.shape, (site) => {
      this.line(`${target}[${regIndex(like.type.shape, this.plan, site.i!, site.j!)}] = ${elem(this, v, site)};`);
    });
  }

  protected declareVar(v: Value, name: string): void {
    if (v.type.shape.length === 0) this.line(`var ${name}: ${wgslType(v.type.dtype)};`);
    else this.line(`var ${name}: ${this.regsDecl(v)};`);
  }
}
