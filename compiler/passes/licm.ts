// Loop-invariant code motion: a pure definition in a loop body whose operands all come from
// outside the loop is computed once, before the loop (position tiles of the query rows, scaled
// constants, head indices). Inner loops are treated first, so values can climb several levels.
import { type Block, type ForInst, type Inst, type KernelIR, type Value, operands } from "../ir/ir.ts";

function hoistFrom(loop: ForInst): Inst[] {
  const inside = new Set<Value>([loop.iv, ...loop.carried]);
  const hoisted: Inst[] = [];
  const kept: Inst[] = [];
  for (const inst of loop.body.insts) {
    if (inst.kind === "def") {
      const v = inst.value;
      const pure = v.op.kind !== "load" || !v.op.tensor.written;
      if (pure && operands(v.op).every((o) => !inside.has(o))) {
        hoisted.push(inst);
        continue;
      }
      inside.add(v);
    } else if (inst.kind === "for" || inst.kind === "if") {
      inst.results.forEach((r) => inside.add(r));
      markDefs(inst, inside);
    }
    kept.push(inst);
  }
  loop.body.insts = kept;
  return hoisted;
}

/** Values defined inside nested structure count as inside the loop. */
function markDefs(inst: Inst, inside: Set<Value>): void {
  const visit = (b: Block) => {
    for (const i of b.insts) {
      if (i.kind === "def") inside.add(i.value);
      else if (i.kind === "for" || i.kind === "if") {
        i.results.forEach((r) => inside.add(r));
        markDefs(i, inside);
      }
    }
  };
  if (inst.kind === "for") {
    inside.add(inst.iv);
    inst.carried.forEach((c) => inside.add(c));
    visit(inst.body);
  } else if (inst.kind === "if") {
    visit(inst.then);
    visit(inst.else);
  }
}

function block(b: Block): void {
  const out: Inst[] = [];
  for (const inst of b.insts) {
    if (inst.kind === "for") {
      block(inst.body);
      out.push(...hoistFrom(inst));
    } else if (inst.kind === "if") {
      block(inst.then);
      block(inst.else);
    }
    out.push(inst);
  }
  b.insts = out;
}

export function licm(ir: KernelIR): KernelIR {
  block(ir.body);
  return ir;
}
