// A model of a warp-specialized kernel's roles (ws-emit.ts), for tests without a GPU: the tile
// loops of the producer and of the consumers, as the compiler wrote them, translated line by line
// to JavaScript generators (every statement but the copies, waits, arrivals and wgmma groups
// dropped), run by a seeded random scheduler against models of the hardware they rely on:
// - mbarriers (an arrival count and a byte count a phase; a parity wait passes once the phase of
//   that parity completed, so a fresh barrier's "phase before" reads as completed);
// - TMA boxes, delivered at a random later step; cp.async copies, landed at the thread's wait,
//   or where the thread arrives on an mbarrier as they land (noinc), at a random later step;
// - named barriers as the hardware counts them (the consumers' turns: 256 threads complete a
//   phase, whichever arrived: a group arriving twice completes it without the other; the
//   producer group's);
// - wgmma groups, reading their stages from issue until a wait retires them.
// Two producer actors (thread 0, which also plays its warp's lanes where lane j issues page j's
// boxes, and a thread of another warp; where each producer thread arrives, each actor's arrival
// counts for half the group's 128) and one actor a consumer warpgroup (its arrivals count for
// its 128 threads).
import { makeRng } from "../reference/rng.ts";

const BLOCKED = Symbol("blocked");

export interface Actor {
  role: "producer" | "consumer";
  id: number;
  done: boolean;
  /** Tile counts this consumer's wgmmas read (K and V). */
  readCounts: number[];
}

interface Bar {
  count: number;
  pending: number;
  tx: number;
  phase: number;
}

interface RunResult {
  deadlock?: string;
  errors: string[];
  /** Stage bases (bytes), ascending: K's two stages, then V's. */
  stages: number[];
  /** Per stage, the tile counts copied into it, in order. */
  written: number[][];
  consumers: Actor[];
}

/** One line of C as JavaScript, or undefined where the model has no use for it. */
function translate(raw: string): string | undefined {
  const l = raw.trim().replace(/\s*\/\/.*$/, "");
  const expr = (s: string) =>
    s
      .replace(/\((int|long long)\)/g, "")
      .replace(/&(\w+_map\d*)/g, '"$1"')
      .replace(/wgmma_wait<(\d+)>\(\)/g, "wgmma_wait($1)")
      .replace(/\b(0x[0-9a-f]+)u\b/gi, "$1");
  const OPS = /^(mbar_wait|mbar_expect_bytes|mbar_arrive|tma_box_reused|cp_async16|cp_async_wait_all|cp_async_arrive_noinc|producers_sync|named_sync|named_arrive|wgmma_commit|wgmma_wait<\d+>)\(/;
  if (l === "{" || l === "}" || l === "} else {") return l;
  // Lane j of the producer's first warp issues page j's boxes: the model's thread 0 issues them all.
  const lanes = /^if \(lane < (\d+)\) \{$/.exec(l);
  if (lanes) return `for (lane = 0; lane < ${lanes[1]}; lane++) {`;
  if (/^(for|if) \(.*\{$/.test(l) || /^\} else if \(.*\{$/.test(l)) return expr(l).replace(/\b(int|bool) /g, "");
  if (/^(const )?(int|bool) \w+ = /.test(l)) return `${expr(l).replace(/^(const )?(int|bool) /, "")}`;
  if (/^ws_tiles \+= /.test(l) || /^ws_pending = (true|false);$/.test(l)) return l;
  if (OPS.test(l)) return `yield* ${expr(l)}`;
  const guarded = /^if \((.*?)\) ((mbar_arrive|named_arrive|named_sync|mbar_wait)\(.*\);)$/.exec(l);
  if (guarded) return `if (${expr(guarded[1])}) { yield* ${expr(guarded[2])} }`;
  // A wgmma's B operand: the stage it reads and the tile count it expects there.
  const read = /^const uint64_t db = sw128_desc\(smem \+ \((\d+) \+ (\d+) \* \(\((.*)\) & 1\)\), \d+, \d+\);$/.exec(l);
  if (read) return `yield* read(${read[1]} + ${read[2]} * ((${expr(read[3])}) & 1), ${expr(read[3])});`;
  return undefined;
}

/**
 * The tile loops of a role's code: from each `X_from = ws_tiles - LO;` to its `ws_tiles +=
 * max(0, HI - LO);`; the consumers' last loop's pending P·V after them (overlap-emit.ts) is the
 * last entry's tail.
 */
function loopsOf(section: string): { lo: string; hi: string; js: string }[] {
  const out: { lo: string; hi: string; js: string }[] = [];
  let cur: { lo: string; lines: string[] } | undefined;
  let tail: { depth: number; lines: string[] } | undefined;
  for (const line of section.split("\n")) {
    if (!cur && out.length && !tail && /^\s*if \(ws_pending\) \{/.test(line)) tail = { depth: 0, lines: [] };
    if (tail && tail.depth >= 0) {
      const js = translate(line);
      if (js !== undefined) tail.lines.push(js);
      const code = line.replace(/\/\/.*$/, "");
      tail.depth += (code.match(/\{/g) ?? []).length - (code.match(/\}/g) ?? []).length;
      if (tail.depth === 0) {
        out[out.length - 1].js += `\n${tail.lines.join("\n")}`;
        tail.depth = -1;
      }
      continue;
    }
    const start = /const int \w+_from = ws_tiles - (\S+);/.exec(line);
    if (start) cur = { lo: start[1], lines: [] };
    if (!cur) continue;
    const js = translate(line);
    if (js !== undefined) cur.lines.push(js);
    const end = /ws_tiles \+= max\(0, (\S+) - (\S+)\);/.exec(line);
    if (end) {
      expect(end[2], "a loop's bounds").toBe(cur.lo);
      out.push({ lo: cur.lo, hi: end[1], js: cur.lines.join("\n") });
      cur = undefined;
    }
  }
  return out;
}

function expect(a: string, what: string) {
  return {
    toBe: (b: string) => {
      if (a !== b) throw new Error(`ws-model: ${what}: ${a} against ${b}`);
    },
  };
}

export class WsModel {
  readonly loops: { lo: string; hi: string }[];
  private readonly producer: string;
  private readonly consumer: string;
  private readonly consumersN: number;
  private readonly boxBytes: number;
  private readonly tileRows: number;
  private readonly inits: { bar: number; count: number }[] = [];
  private readonly kLen: string[];
  /** The stages' bases in bytes, ascending: K's two, then V's. */
  readonly stages: number[];
  /** TMA boxes a tile: its columns / 64. */
  private readonly boxesPerTile: number;

  constructor(code: string) {
    const p = code.indexOf("// the producer");
    const c = code.indexOf("} else { // the consumers");
    if (p < 0 || c < p) throw new Error("ws-model: no producer and consumers in this kernel");
    const prod = loopsOf(code.slice(p, c));
    const cons = loopsOf(code.slice(c));
    if (prod.map((x) => `${x.lo}..${x.hi}`).join() !== cons.map((x) => `${x.lo}..${x.hi}`).join()) throw new Error("ws-model: the roles' loops differ");
    this.loops = prod.map(({ lo, hi }) => ({ lo, hi }));
    this.producer = `ws_tiles = 0;\n${prod.map((x) => x.js).join("\n")}`;
    this.consumer = `ws_tiles = 0;\n${cons.map((x) => x.js).join("\n")}`;
    this.consumersN = Number(/regs_inc<\d+>/.test(code) && /if \(wg_row == (\d+)\) \{ \/\/ the producer/.exec(code)![1]);
    // A tile's rows (sw128's third argument); a box's: all of them, or a page's (lane j's box at
    // row j x rows). A gathered kernel has no box: its copies' comment gives the rows.
    const box = /tma_box_reused\(smem \+ \([^)]*\) \+ sw128\([^,]+, 0, (\d+)\)/.exec(code) ?? /\/\/ \w+: (\d+) x \d+ into shared memory/.exec(code.slice(p, c));
    this.tileRows = Number(box![1]);
    const pageRows = /tma_box_reused\(smem \+ \([^)]*\) \+ sw128\(\(lane \* (\d+)\), 0, \d+\)/.exec(code);
    const pages = pageRows ? Number(/if \(lane < (\d+)\) \{/.exec(code)![1]) : 1;
    // A box: its rows x 64 columns of 2 bytes.
    this.boxBytes = (pageRows ? Number(pageRows[1]) : this.tileRows) * 128;
    for (const m of code.matchAll(/mbar_init(_n)?\(smem \+ (\d+) \+ 8 \* \((\d)\)(?:, (\d+))?\);/g)) {
      this.inits.push({ bar: Number(m[2]) + 8 * Number(m[3]), count: m[1] ? Number(m[4]) : 1 });
    }
    this.kLen = [...new Set(code.slice(p).match(/\bk_len_\d+\b/g) ?? [])];
    const bases = [...code.slice(p, c).matchAll(/\((\d+) \+ (\d+) \* ws_s\)/g)].flatMap((m) => [Number(m[1]), Number(m[1]) + Number(m[2])]);
    this.stages = [...new Set(bases)].sort((a, b) => a - b);
    // The boxes' column offsets (none where the producer gathers: no box at all).
    const cols = [...code.slice(p, c).matchAll(/tma_box_reused\(smem \+ \([^)]*\) \+ sw128\([^,]+, (\d+), \d+\)/g)].map((m) => Number(m[1]));
    this.boxesPerTile = cols.length ? pages * (Math.max(...cols) / 64 + 1) : 0;
  }

  /**
   * Run the roles over `split[i]` tiles in loop i (the key length `tail` short of whole tiles),
   * scheduled by a generator seeded with `seed`.
   */
  run(split: number[], tail: number, seed: number): RunResult {
    const rand = makeRng(seed);
    const errors: string[] = [];
    const bars = new Map<number, Bar>(this.inits.map(({ bar, count }) => [bar, { count, pending: count, tx: 0, phase: 0 }]));
    // Stage contents: per base, the count each producer actor's part holds (TMA writes both).
    const content = new Map<number, number[]>();
    // Per stage, each copy's count: a TMA box's (boxesPerTile a tile) or a tile's cp.async by thread 0.
    const written = new Map<number, { count: number; box: boolean }[]>();
    // TMA boxes in flight, and a producer actor's cp.async copies whose noinc arrival is pending.
    const deliveries: ({ dst: number; bar: number; count: number } | { bar: number; copies: { dst: number; count: number }[]; id: number })[] = [];
    // Named barriers of 256 threads (two actors): arrivals this phase, and phases completed.
    const named = new Map<number, { count: number; phase: number }>();
    const namedBar = (b: number) => named.get(b) ?? named.set(b, { count: 0, phase: 0 }).get(b)!;
    /** An actor's 128 threads arrive; the 256th thread completes the phase, whoever they were. */
    const namedArrive = (b: number) => {
      const x = namedBar(b);
      if (++x.count === 2) {
        x.count = 0;
        x.phase++;
      }
    };
    let producerSync = { arrived: 0, generation: 0 };
    const R = this.tileRows;
    const total = split.reduce((a, b) => a + b, 0);
    const bounds: Record<string, number> = {};
    let at = 0;
    this.loops.forEach((l, i) => {
      at += split[i];
      bounds[l.hi] = at;
    });
    for (const k of this.kLen) bounds[k] = Math.max(0, total * R - tail);

    const actors: (Actor & { gen: Generator; scope: Record<string, unknown>; groups: number[][]; pendingReads: number[]; cp: { dst: number; count: number }[] })[] = [];
    const inflight = (dst: number) => actors.some((a) => a.role === "consumer" && [...a.groups.flat(), ...a.pendingReads].includes(dst));
    const bar = (b: number) => {
      const x = bars.get(b);
      if (!x) throw new Error(`ws-model: no mbarrier at ${b}`);
      return x;
    };
    const settle = (b: Bar) => {
      if (b.pending < 0) errors.push(`an mbarrier arrived on more often than its count`);
      if (b.pending === 0 && b.tx === 0) {
        b.phase++;
        b.pending = b.count;
      }
    };
    const land = (dst: number, parts: number[], count: number) => {
      if (inflight(dst)) errors.push(`a copy landed in stage ${dst} while a wgmma read it`);
      const c = content.get(dst) ?? [-1, -1];
      for (const p of parts) c[p] = count;
      content.set(dst, c);
    };
    const record = (dst: number, count: number, box: boolean) => written.set(dst, [...(written.get(dst) ?? []), { count, box }]);

    const make = (role: Actor["role"], id: number) => {
      const self = { role, id, done: false, readCounts: [] as number[], groups: [] as number[][], pendingReads: [] as number[], cp: [] as { dst: number; count: number }[] } as (typeof actors)[number];
      const count = () => self.scope.ws_c as number;
      const helpers = {
        max: Math.max,
        min: Math.min,
        safe_div: (a: number, b: number) => Math.trunc(a / b),
        safe_rem: (a: number, b: number) => a % b,
        sw128: () => 0,
        smem: 0,
        *mbar_wait(b: number, parity: number) {
          yield;
          while ((bar(b).phase & 1) === parity) yield BLOCKED;
        },
        *mbar_expect_bytes(b: number, bytes: number) {
          yield;
          const x = bar(b);
          x.pending--;
          x.tx += bytes;
          settle(x);
        },
        *mbar_arrive(b: number) {
          yield;
          const x = bar(b);
          x.pending -= role === "consumer" ? 128 : 1;
          settle(x);
        },
        *tma_box_reused(dst: number, _map: string, _x: number, _y: number, b: number) {
          yield;
          if (inflight(dst)) errors.push(`a TMA copy into stage ${dst} was issued while a wgmma read it`);
          record(dst, count(), true);
          deliveries.push({ dst, bar: b, count: count() });
        },
        *cp_async16(dst: number) {
          yield;
          if (inflight(dst)) errors.push(`a cp.async copy into stage ${dst} was issued while a wgmma read it`);
          self.cp.push({ dst, count: count() });
        },
        // Lands the actor's copies at a random later step, then arrives for its 64 threads.
        *cp_async_arrive_noinc(b: number) {
          yield;
          if (id === 0 && self.cp.length) record(self.cp[0].dst, self.cp[0].count, false);
          if (new Set(self.cp.map((x) => `${x.dst} ${x.count}`)).size > 1) errors.push("one noinc arrival for copies of two tiles");
          deliveries.push({ bar: b, copies: self.cp, id });
          self.cp = [];
        },
        __shfl_sync: (_mask: number, v: unknown) => v,
        *cp_async_wait_all() {
          yield;
          for (const x of self.cp) land(x.dst, [id], x.count);
          // Thread 0's copies of one tile (all its chunks in the one stage) waited for together.
          if (id === 0 && self.cp.length) record(self.cp[0].dst, self.cp[0].count, false);
          if (new Set(self.cp.map((x) => `${x.dst} ${x.count}`)).size > 1) errors.push("one cp.async wait for copies of two tiles");
          self.cp = [];
        },
        *producers_sync() {
          yield;
          const gen = producerSync.generation;
          producerSync.arrived++;
          if (producerSync.arrived === 2) producerSync = { arrived: 0, generation: gen + 1 };
          while (producerSync.generation === gen) yield BLOCKED;
        },
        *named_arrive(b: number) {
          yield;
          namedArrive(b);
        },
        *named_sync(b: number) {
          yield;
          const phase = namedBar(b).phase;
          namedArrive(b);
          while (namedBar(b).phase === phase) yield BLOCKED;
        },
        *read(dst: number, c: number) {
          yield;
          const held = content.get(dst) ?? [-1, -1];
          if (held.some((x) => x !== c)) errors.push(`consumer ${id} read tile ${c} from stage ${dst}, which holds ${held}`);
          self.readCounts.push(c);
          self.pendingReads.push(dst);
        },
        *wgmma_commit() {
          yield;
          self.groups.push(self.pendingReads);
          self.pendingReads = [];
        },
        *wgmma_wait(n: number) {
          yield;
          while (self.groups.length > n) self.groups.shift();
        },
      };
      // Producer thread 0, and a thread of another warp (its first warp's lanes are thread 0's).
      const target: Record<string, unknown> = { ...helpers, ...bounds, wg_row: role === "consumer" ? id : this.consumersN, ptid: role === "producer" ? id * 32 : -1 };
      const scope = new Proxy(target, {
        has: (_t, k) => typeof k === "string",
        get: (t, k) => (k in t ? t[k as string] : k === Symbol.unscopables ? undefined : 0),
        set: (t, k, v) => {
          t[k as string] = v;
          return true;
        },
      });
      self.scope = target;
      // Sloppy-mode code (a Function body) may read the scope through `with`.
      self.gen = new Function("scope", `with (scope) { return function* () {\n${role === "producer" ? this.producer : this.consumer}\n}; }`)(scope)();
      actors.push(self);
    };
    make("producer", 0);
    make("producer", 1);
    for (let g = 0; g < this.consumersN; g++) make("consumer", g);

    let idle = 0;
    for (let step = 0; step < 2_000_000; step++) {
      const live = actors.filter((a) => !a.done);
      if (!live.length) break;
      const choices = live.length + (deliveries.length ? 1 : 0);
      const pick = Math.floor(rand() * choices);
      if (pick === live.length) {
        const d = deliveries.splice(Math.floor(rand() * deliveries.length), 1)[0];
        const x = bar(d.bar);
        if ("copies" in d) {
          for (const cp of d.copies) land(cp.dst, [d.id], cp.count);
          x.pending -= 64;
        } else {
          land(d.dst, [0, 1], d.count);
          x.tx -= this.boxBytes;
        }
        settle(x);
        idle = 0;
        continue;
      }
      const a = live[pick];
      const r = a.gen.next();
      if (r.done) a.done = true;
      idle = r.value === BLOCKED && !deliveries.length ? idle + 1 : 0;
      if (idle > 200 * actors.length) {
        const where = live.map((x) => `${x.role} ${x.id}`).join(", ");
        return { deadlock: `no progress: ${where} waiting`, errors, stages: [], written: [], consumers: [] };
      }
    }
    if (actors.some((a) => !a.done)) return { deadlock: "step limit", errors, stages: [], written: [], consumers: [] };
    if ([...bars.values()].some((b) => b.tx !== 0)) errors.push("an mbarrier still expects bytes at the end");
    for (const k of written.keys()) if (!this.stages.includes(k)) errors.push(`a copy into ${k}, no stage's base`);
    // A tile's TMA copy: boxesPerTile boxes in a row with its count.
    const tiles = (events: { count: number; box: boolean }[]) => {
      const out: number[] = [];
      for (let i = 0; i < events.length; ) {
        const n = events[i].box ? this.boxesPerTile : 1;
        if (events.slice(i, i + n).some((e) => e.count !== events[i].count || e.box !== events[i].box)) errors.push(`a tile's copy of ${n} part(s) broken off`);
        out.push(events[i].count);
        i += n;
      }
      return out;
    };
    return { errors, stages: this.stages, written: this.stages.map((s) => tiles(written.get(s) ?? [])), consumers: actors.filter((a) => a.role === "consumer") };
  }
}
