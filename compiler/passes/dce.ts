// Dead code elimination: after the mask analysis folds predicates, the masks themselves and the
// position tiles that fed them are often unused in full tiles. Removes pure definitions nothing
// reads (loads from tensors the kernel never writes count as pure).
import { type Block, type Inst, type KernelIR, type Value, operands } from "../ir/ir.ts";

function roots(inst: Inst): Value[] {
  switch (inst.kind) {
    case "store":
      return inst.pred ? [...inst.indices, inst.value, inst.pred] : [...inst.indices, inst.value];
    case "for":
      return [inst.lo, inst.hi, ...inst.inits, ...inst.yields];
    case "if":
      return [inst.cond, ...inst.thenYields, ...inst.elseYields];
    default:
      return [];
  }
}

export function dce(ir: KernelIR): KernelIR {
  const live = new Set<Value>();
  const defs = new Map<Value, Value>();
  const stack: Value[] = [];
  const scan = (b: Block) => {
    for (const i of b.insts) {
      if (i.kind === "def") defs.set(i.value, i.value);
      stack.push(...roots(i));
      if (i.kind === "for") scan(i.body);
      if (i.kind === "if") {
        scan(i.then);
        scan(i.else);
      }
    }
  };
  scan(ir.body);
  while (stack.length) {
    const v = stack.pop()!;
    if (live.has(v)) continue;
    live.add(v);
    stack.push(...operands(v.op));
  }
  const sweep = (b: Block): Block => ({
    insts: b.insts
      .filter((i) => i.kind !== "def" || live.has(i.value))
      .map((i) => {
        if (i.kind === "for") i.body = sweep(i.body);
        if (i.kind === "if") {
          i.then = sweep(i.then);
          i.else = sweep(i.else);
        }
        return i;
      }),
  });
  return { ...ir, body: sweep(ir.body) };
}
