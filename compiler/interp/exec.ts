// Running tile programs: one program per grid point, sequentially, each a walk over the
// kernel's structured IR. SSA makes the environment a plain array by value id; loops rebind
// their induction variable and carried placeholders each iteration, and a `return` unwinds to
// the end of the program.
import type { Block, ForInst, IfInst, KernelIR, StoreInst, Value } from "../ir/ir.ts";
import { loadTile, storeTile, type AccessSite } from "./access.ts";
import { dotTile, reduceTile } from "./accumulate.ts";
import type { Bound, BoundTensor } from "./args.ts";
import { toDtype } from "./numeric.ts";
import {
  type Tile, binaryTile, castTile, dimsOf, filledTile, iotaTile, scalarTile, selectTile, transposeTile, unaryTile,
} from "./tile.ts";

/** Called as each loop starts, with its bounds: shows which tiles the mask analysis visits. */
export type LoopTrace = (e: { loop: ForInst; lo: number; hi: number; program: number[] }) => void;

/** The state of one program (one grid point). */
export class Program {
  private readonly env: (Tile | undefined)[] = [];
  private readonly site: AccessSite;

  constructor(
    private readonly ir: KernelIR,
    private readonly bound: Bound,
    private readonly tensors: Map<string, BoundTensor>,
    private readonly pid: number[],
    private readonly trace?: LoopTrace,
  ) {
    this.site = { kernel: ir.name, program: ir.grid.map((g, i) => `${g.name}=${pid[i]}`).join(", ") };
  }

  run(): void {
    this.block(this.ir.body);
  }

  /** Run a block; true when a `return` ended the program. */
  private block(b: Block): boolean {
    for (const inst of b.insts) {
      switch (inst.kind) {
        case "def":
          this.env[inst.value.id] = this.eval(inst.value);
          break;
        case "store":
          this.store(inst);
          break;
        case "for":
          if (this.loop(inst)) return true;
          break;
        case "if":
          if (this.branch(inst)) return true;
          break;
        case "return":
          return true;
      }
    }
    return false;
  }

  private loop(f: ForInst): boolean {
    const lo = this.scalar(f.lo);
    const hi = this.scalar(f.hi);
    this.trace?.({ loop: f, lo, hi, program: this.pid });
    let carried = f.inits.map((v) => this.get(v));
    // `f.mask` and `f.status` are facts for the backends (which tiles need predicates); the body
    // already applies the mask with `where`, so running every iteration as written is exact.
    for (let i = lo; i < hi; i++) {
      this.env[f.iv.id] = scalarTile(i);
      f.carried.forEach((c, k) => (this.env[c.id] = carried[k]));
      if (this.block(f.body)) return true;
      // Read every yield before rebinding anything: a yield may be another carried placeholder.
      carried = f.yields.map((v) => this.get(v));
    }
    f.results.forEach((r, k) => (this.env[r.id] = carried[k]));
    return false;
  }

  private branch(inst: IfInst): boolean {
    const cond = this.get(inst.cond);
    if (cond.data.length !== 1) throw this.internal(`the condition %${inst.cond.id} of an if is a ${cond.rows} x ${cond.cols} tile, not a scalar`);
    const taken = cond.data[0] !== 0;
    if (this.block(taken ? inst.then : inst.else)) return true;
    const yields = taken ? inst.thenYields : inst.elseYields;
    inst.results.forEach((r, k) => (this.env[r.id] = this.get(yields[k])));
    return false;
  }

  private store(s: StoreInst): void {
    const t = this.tensor(s.tensor.name);
    const pred = s.pred && this.get(s.pred);
    storeTile(t, s.indices.map((v) => this.get(v)), this.get(s.value), pred, { ...this.site, span: s.span });
  }

  /** A value's tile; constants, arguments, dims and program ids are made on first use. */
  private get(v: Value): Tile {
    const t = this.env[v.id];
    if (t) return t;
    const k = v.op.kind;
    if (k === "const" || k === "arg" || k === "dim" || k === "program_id") {
      const made = this.eval(v);
      this.env[v.id] = made;
      return made;
    }
    throw this.internal(`%${v.id} (${k}) is used before it is defined`);
  }

  private scalar(v: Value): number {
    const t = this.get(v);
    if (t.data.length !== 1) throw this.internal(`%${v.id} should be a scalar but is a ${t.rows} x ${t.cols} tile`);
    return t.data[0];
  }

  private eval(v: Value): Tile {
    const op = v.op;
    const [rows, cols] = dimsOf(v.type);
    const dtype = v.type.dtype;
    switch (op.kind) {
      case "const":
        return filledTile(toDtype(Number(op.value), dtype), rows, cols);
      case "arg": {
        const x = this.bound.scalars[op.name];
        if (x === undefined) throw this.internal(`no scalar argument '${op.name}'`);
        return scalarTile(toDtype(x, dtype));
      }
      case "dim": {
        const x = this.bound.dims[op.name];
        if (x === undefined) throw this.internal(`no runtime dimension '${op.name}'`);
        return scalarTile(x);
      }
      case "program_id":
        return scalarTile(this.pid[op.axis]);
      case "iota":
        return iotaTile(this.scalar(op.start), op.axis === 0 ? rows : cols, op.axis);
      case "binary":
        return binaryTile(op.op, op.a.type.dtype, dtype, this.get(op.a), this.get(op.b), rows, cols);
      case "unary":
        return unaryTile(op.op, dtype, this.get(op.a));
      case "select":
        return selectTile(dtype, this.get(op.cond), this.get(op.a), this.get(op.b), rows, cols);
      case "cast":
        return castTile(op.a.type.dtype, dtype, this.get(op.a));
      case "load": {
        const pred = op.pred && this.get(op.pred);
        const site = { ...this.site, span: v.span };
        return loadTile(this.tensor(op.tensor.name), op.indices.map((x) => this.get(x)), pred, op.other, rows, cols, site);
      }
      case "dot":
        return dotTile(this.get(op.a), this.get(op.b), dtype);
      case "transpose":
        return transposeTile(this.get(op.a));
      case "reduce":
        return reduceTile(op.op, this.get(op.a), dtype);
      case "loop_var":
      case "result":
        // Bound by their loop or branch; reaching them here means a use outside their scope.
        throw this.internal(`%${v.id} (${op.kind}) is used outside the loop or branch that defines it`);
    }
  }

  private tensor(name: string): BoundTensor {
    const t = this.tensors.get(name);
    if (!t) throw this.internal(`no tensor argument '${name}'`);
    return t;
  }

  private internal(msg: string): Error {
    return new Error(`${this.ir.name}: internal: ${msg} (program ${this.site.program})`);
  }
}

/** Run every program of the grid, axis 0 fastest (like a GPU's x). Returns the program count. */
export function runGrid(ir: KernelIR, bound: Bound, trace?: LoopTrace): number {
  const tensors = new Map(bound.tensors.map((t) => [t.param.name, t]));
  const total = bound.grid.reduce((a, b) => a * b, 1);
  const pid = bound.grid.map(() => 0);
  for (let n = 0; n < total; n++) {
    let rest = n;
    for (let a = 0; a < pid.length; a++) {
      pid[a] = rest % bound.grid[a];
      rest = Math.floor(rest / bound.grid[a]);
    }
    new Program(ir, bound, tensors, [...pid], trace).run();
  }
  return total;
}
