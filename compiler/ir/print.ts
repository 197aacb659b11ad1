// Text form of the tile IR, for debugging (`flashtile compile --dump-ir`) and tests.
import type { Block, Inst, Value } from "./ir.ts";
import { showType } from "./ir.ts";

export function valueName(v: Value): string {
  if (v.op.kind === "const") return typeof v.op.value === "boolean" ? String(v.op.value) : `${v.op.value}${v.weak ? "" : `:${v.type.dtype}`}${v.type.shape.length ? `[${v.type.shape}]` : ""}`;
  return `%${v.id}`;
}

function opText(v: Value): string {
  const op = v.op;
  const n = valueName;
  switch (op.kind) {
    case "const": return `const ${n(v)}`;
    case "arg": return `arg ${op.name}`;
    case "dim": return `dim ${op.name}`;
    case "program_id": return `program_id ${op.axis} (${op.name})`;
    case "iota": return `iota ${n(op.start)} axis=${op.axis}`;
    case "binary": return `${op.op} ${n(op.a)}, ${n(op.b)}`;
    case "unary": return `${op.op} ${n(op.a)}`;
    case "select": return `select ${n(op.cond)}, ${n(op.a)}, ${n(op.b)}`;
    case "cast": return `cast ${n(op.a)}`;
    case "load": return `load ${op.tensor.name}[${op.indices.map(n).join(", ")}]${op.pred ? ` where ${n(op.pred)} else ${op.other}` : ""}`;
    case "dot": return `dot ${n(op.a)}, ${n(op.b)}`;
    case "transpose": return `transpose ${n(op.a)}`;
    case "reduce": return `reduce.${op.op} ${n(op.a)}`;
    case "loop_var": return `loop_var ${op.index}`;
    case "result": return `result ${op.index}`;
  }
}

function inst(i: Inst, ind: string, out: string[]): void {
  switch (i.kind) {
    case "def":
      if (i.value.op.kind !== "const") out.push(`${ind}%${i.value.id}: ${showType(i.value.type)} = ${opText(i.value)}`);
      return;
    case "store":
      out.push(`${ind}store ${i.tensor.name}[${i.indices.map(valueName).join(", ")}] = ${valueName(i.value)}${i.pred ? ` where ${valueName(i.pred)}` : ""}`);
      return;
    case "return":
      out.push(`${ind}return`);
      return;
    case "for": {
      const carried = i.carried.map((c, k) => `${valueName(c)} = ${valueName(i.inits[k])}`).join(", ");
      out.push(`${ind}${i.results.map(valueName).join(", ")}${i.results.length ? " = " : ""}for ${valueName(i.iv)} in [${valueName(i.lo)}, ${valueName(i.hi)}) ${i.status}${i.mask ? ` mask ${valueName(i.mask)}` : ""} carry(${carried}) {`);
      block(i.body, `${ind}  `, out);
      out.push(`${ind}  yield ${i.yields.map(valueName).join(", ")}`);
      out.push(`${ind}}`);
      return;
    }
    case "if":
      out.push(`${ind}${i.results.map(valueName).join(", ")}${i.results.length ? " = " : ""}if ${valueName(i.cond)} {`);
      block(i.then, `${ind}  `, out);
      if (i.thenYields.length) out.push(`${ind}  yield ${i.thenYields.map(valueName).join(", ")}`);
      out.push(`${ind}} else {`);
      block(i.else, `${ind}  `, out);
      if (i.elseYields.length) out.push(`${ind}  yield ${i.elseYields.map(valueName).join(", ")}`);
      out.push(`${ind}}`);
      return;
  }
}

function block(b: Block, ind: string, out: string[]): void {
  for (const i of b.insts) inst(i, ind, out);
}

export function printBlock(b: Block): string {
  const out: string[] = [];
  block(b, "", out);
  return out.join("\n");
}
