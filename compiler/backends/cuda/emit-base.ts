// The CUDA emitter's view of one kernel instance: the names and register slots of its values,
// its shared-memory regions, and the small host objects the statement emitters take (tile-emit.ts,
// mma.ts, wgmma.ts). emit.ts builds the kernel's statements, loops and copies on top of it.
import type { Inst, KernelIR, ScalarType, StoreInst, Value } from "../../ir/ir.ts";
import type { Region, SharedLayout } from "../common/shared-alloc.ts";
import { StructuredEmitter } from "../common/structured-emitter.ts";
import { type ElementContext, elem, position } from "./elements.ts";
import type { MmaLayout, Site, ThreadLayout } from "./layouts.ts";
import type { CudaPlan } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import type { TileHost } from "./tile-emit.ts";
import type { Staging } from "./store-stage.ts";
import { AccessAlignment } from "./access-align.ts";
import { ident, literal, regType } from "./syntax.ts";
import { tileAt } from "./wgmma.ts";

export abstract class CudaKernelView extends StructuredEmitter implements ElementContext {
  /** Sums a dot accumulated into in place: their value is already in the dot's registers. */
  protected fusedSums = new Set<Value>();
  /** Multi-buffered tiles and their copies (a buffer a loop index). */
  protected doubled = new Map<Value, Prefetch>();
  /** Values given by an expression of the element's site while a loop is emitted (elements.ts). */
  readonly bound = new Map<Value, string | ((site: Site) => string)>();
  /** Tiles the dots being emitted read from shared memory at these regions (the leader's P). */
  protected sharedOverride = new Map<Value, Region>();
  /** The plan dots are emitted with: the kernel's, or one where the leader's P is a shared tile. */
  protected dotPlan: CudaPlan;
  protected readonly facts: CudaPlan;

  constructor(
    readonly ir: KernelIR,
    readonly plan: CudaPlan,
    readonly layout: ThreadLayout,
    readonly shared: SharedLayout & { issueBefore: Map<Inst, Value[]> },
  ) {
    super();
    this.facts = plan;
    this.dotPlan = plan;
  }

  protected scalar(v: Value): string {
    return elem(this, v, position("0", "0"));
  }
  protected loopHead(iv: string, lo: string, hi: string): string {
    return `for (int ${iv} = ${lo}; ${iv} < ${hi}; ++${iv})`;
  }
  protected bindIndex(iv: string, lo: string): string {
    return `const int ${iv} = ${lo};`;
  }
  protected copyVar(like: Value, to: string, from: string): string {
    return like.type.shape.length === 0 ? `${to} = ${from};` : `for (int x = 0; x < ${this.layout.registers(like.type.shape)}; ++x) ${to}[x] = ${from}[x];`;
  }

  protected ident(name: string): string {
    return ident(name);
  }
  protected literal(value: number | boolean, t: ScalarType): string {
    return literal(value, t);
  }

  offset(tensor: string, indices: string[]): string {
    return indices.map((ix, d) => (d === indices.length - 1 ? `(long long)(${ix})` : `(long long)(${ix}) * ${tensor}_s${d}`)).join(" + ");
  }

  protected owned(shape: number[], body: (site: Site) => void): void {
    this.layout.owned(shape, (s) => this.line(s), () => this.enter(), () => this.leave(), body);
  }

  /** v's region; a multi-buffered tile's offset picks the buffer of the loop index (its parity for two). */
  region(v: Value): Region | undefined {
    const o = this.sharedOverride.get(v);
    if (o) return o;
    const r = this.shared.regions.get(v);
    const p = this.doubled.get(v);
    if (!r || !p) return r;
    const pick = p.stages === 2 ? `(${this.name(p.loop.iv)} & 1)` : `(${this.name(p.loop.iv)} % ${p.stages})`;
    return { ...r, offset: `(${r.offset} + ${pick} * ${v.type.shape[0] * r.stride})` };
  }

  /** Byte offset from smem of (row, col) of shared tile v in region r (padded or swizzled). */
  at(v: Value, r: Region, row: string, col: string): string {
    // A staged E4M3 tile that FP8 wgmma reads (split-scores.ts): 128-byte rows, 16-byte chunks XORed with r % 8.
    if (this.swizzledBytes.has(v)) return `${r.offset} + (${row}) * 128 + ((((${col}) >> 4) ^ ((${row}) & 7)) << 4) + ((${col}) & 15)`;
    return tileAt(r, v, this.dotPlan.swizzled.has(v), row, col);
  }
  /** Emit with v given by `at` at each element's site (elements.ts), then as before. */
  withBound(v: Value, at: (site: Site) => string, body: () => void): void {
    this.bound.set(v, at);
    body();
    this.bound.delete(v);
  }
  /** Staged E4M3 tiles laid out 128-byte swizzled for FP8 wgmma (a plain loop's split scores). */
  protected swizzledBytes = new Set<Value>();

  scalarOf(v: Value): string {
    return this.scalar(v);
  }
  registers(shape: number[]): number {
    return this.layout.registers(shape);
  }
  /** Emit with each value named as given, then restore the names (a loop index as the next one's). */
  renamed(pairs: [Value, string][], body: () => void): void {
    const saved = pairs.map(([v]) => [v, this.names.get(v)] as const);
    for (const [v, n] of pairs) this.names.set(v, n);
    body();
    for (const [v, n] of saved) {
      if (n === undefined) this.names.delete(v);
      else this.names.set(v, n);
    }
  }

  readShared(tiles: Map<Value, Region>): void {
    this.sharedOverride = tiles;
    this.dotPlan = tiles.size
      ? { ...this.plan, sharedOperands: new Set([...this.plan.sharedOperands, ...tiles.keys()]), swizzled: new Set([...this.plan.swizzled, ...tiles.keys()]) }
      : this.plan;
  }

  tileHost(): TileHost {
    return {
      plan: this.plan,
      layout: this.layout,
      line: (s: string) => this.line(s),
      enter: () => this.enter(),
      leave: () => this.leave(),
      name: (v: Value) => this.name(v),
      offset: (t: string, i: string[]) => this.offset(t, i),
      owned: (shape: number[], body: (site: Site) => void) => this.owned(shape, body),
      align: (tensor: string, bytes: number) => this.align(tensor, bytes),
      staging: this.staging,
    };
  }

  /** Unroll the gathers of one-row pages in four-warp blocks (copy-emit.ts); set before emitBody. */
  unrolledGathers = false;
  /** The stores that go through shared memory (store-stage.ts), set before emitBody. */
  staging: ReadonlyMap<StoreInst, Staging> = new Map();
  readonly alignment = new AccessAlignment();
  align(tensor: string, bytes: number): void {
    this.alignment.record(tensor, bytes);
  }

  dotHost() {
    return {
      line: (s: string) => this.line(s),
      enter: () => this.enter(),
      leave: () => this.leave(),
      name: (v: Value) => this.name(v),
      region: (v: Value) => this.region(v),
      tileAt: (v: Value, row: string, col: string) => this.at(v, this.region(v)!, row, col),
      elemAt: (v: Value, site: Site) => elem(this, v, site),
      siteAt: (mt: string, h: string, nt: string, p: string): Site => (this.layout as MmaLayout).site(`(${mt})`, `(${h})`, `(${nt})`, `(${p})`),
    };
  }

  /** After shared writes the tensor cores read next (wgmma kernels only): see fence_async_proxy. */
  asyncFence(): void {
    if (this.plan.wgmma.size) this.line("fence_async_proxy(); // wgmma reads these tiles through the async proxy");
  }

  protected declareVar(v: Value, name: string): void {
    if (v.type.shape.length === 0) this.line(`${regType(v.type.dtype)} ${name};`);
    else this.line(`${regType(v.type.dtype)} ${name}[${this.layout.registers(v.type.shape)}];`);
  }

  protected assignRegs(target: string, like: Value, v: Value): void {
    if (like.type.shape.length === 0) {
      this.line(`${target} = ${elem(this, v, position("0", "0"))};`);
      return;
    }
    this.owned(like.type.shape, (site) => this.line(`${target}[${site.slot(like.type.shape)}] = ${elem(this, v, site)};`));
  }
}
