// chevrotain 13 calls Object.groupBy, which Node 20 lacks. This module must be imported before
// chevrotain (ESM evaluates imports in order), so it lives in its own file.
const O = Object as unknown as { groupBy?: unknown };
if (typeof O.groupBy !== "function") {
  O.groupBy = function groupBy<T>(items: Iterable<T>, key: (item: T, index: number) => PropertyKey) {
    const out: Record<PropertyKey, T[]> = Object.create(null);
    let i = 0;
    for (const item of items) (out[key(item, i++)] ??= []).push(item);
    return out;
  };
}
export {};
