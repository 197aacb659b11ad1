// Which CUDA builds of a manifest the correctness suite runs, from its command-line options.
import type { KernelManifest } from "../runtime/manifest.ts";

export interface BuildSelection {
  /** Builds whose id (buildId) holds any of these; "ID$" is that build alone. None: every build. */
  filters?: string[];
  /** Only builds that ship PTX for this architecture, offered to the loader alone. */
  arch?: string;
  /** "K/N": every Nth selected build from the Kth. */
  shard?: string;
}

/**
 * A CUDA build's name in the suite: its instance name, and for a build of one architecture alone
 * (a spec's `target cuda sm_80:` clause) that architecture too, as its .cu file is named.
 */
export const buildId = (m: KernelManifest): string => m.cuda!.file.replace(/\.cu$/, "");

export function selectBuilds(manifest: { kernels: Record<string, KernelManifest[]> }, sel: BuildSelection): KernelManifest[] {
  const [shard, shards] = (sel.shard ?? "0/1").split("/").map(Number);
  if (!(Number.isInteger(shard) && Number.isInteger(shards) && shards >= 1 && shard >= 0 && shard < shards)) {
    throw new Error(`--shard wants K/N with 0 <= K < N, got ${sel.shard}`);
  }
  const named = (name: string) => !sel.filters?.length || sel.filters.some((f) => (f.endsWith("$") ? name === f.slice(0, -1) : name.includes(f)));
  const builds = Object.values(manifest.kernels)
    .flat()
    .filter((m) => m.cuda && named(buildId(m)) && (!sel.arch || sel.arch in m.cuda.ptx))
    .filter((_, i) => i % shards === shard);
  const { arch } = sel;
  if (!arch) return builds;
  if (!builds.length) throw new Error(`no selected build ships PTX for ${arch}`);
  // The loader picks among the manifest's PTX: offer it this one alone.
  return builds.map((m) => ({ ...m, cuda: { ...m.cuda!, ptx: { [arch]: m.cuda!.ptx[arch] } } }));
}
