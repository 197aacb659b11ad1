import { dimInferable, type KernelManifest, type SymExpr, type WgslTarget } from "../../manifest.ts";

// A manifest is written by the compiler; when it is inconsistent that is a compiler bug, and the
// place to say so is load time, not the first launch or a silent wrong result.

/** Throw if `manifest` cannot be launched by this runtime; returns its WGSL target. */
export function checkManifest(manifest: KernelManifest): WgslTarget {
  const fail = (msg: string): never => {
    throw new Error(`${manifest.name}: bad manifest: ${msg}`);
  };
  const wgsl = manifest.wgsl ?? fail("no WGSL target (manifest.wgsl is missing)");

  const names = [
    ...manifest.tensors.map((t) => t.name),
    ...manifest.scalars.map((s) => s.name),
    ...manifest.dims,
  ];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`name '${dup}' is used twice among tensors, scalars and dims`);

  const bindings = [...manifest.tensors.map((t) => t.binding), wgsl.uniforms.binding];
  const dupB = bindings.find((b, i) => bindings.indexOf(b) !== i);
  if (dupB !== undefined) fail(`binding ${dupB} is used twice`);

  for (const d of manifest.dims) {
    if (!dimInferable(manifest, d)) {
      fail(`runtime dimension '${d}' cannot be inferred from any tensor shape`);
    }
  }

  const known = new Set([...manifest.dims, ...manifest.scalars.map((s) => s.name)]);
  const checkNames = (e: SymExpr, where: string): void => {
    if (typeof e === "string" && !known.has(e))
      fail(`${where} mentions '${e}', which is neither a dim nor a scalar`);
    if (typeof e === "object") e.args.forEach((a) => checkNames(a, where));
  };
  manifest.tensors.forEach((t) => t.shape.forEach((e) => checkNames(e, `shape of '${t.name}'`)));
  manifest.grid.forEach((e) => checkNames(e, "grid"));
  if (manifest.grid.length < 1 || manifest.grid.length > 3)
    fail(`grid has ${manifest.grid.length} axes; WebGPU dispatches 1 to 3`);

  const u = wgsl.uniforms;
  if (u.size % 4 !== 0) fail(`uniform block size ${u.size} is not a multiple of 4`);
  for (const f of u.fields) {
    if (f.offset % 4 !== 0 || f.offset < 0 || f.offset + 4 > u.size) {
      fail(
        `uniform field '${f.name}' at offset ${f.offset} does not fit a ${u.size}-byte block at 4-byte alignment`,
      );
    }
    const pool = f.from === "dim" ? manifest.dims : manifest.scalars.map((s) => s.name);
    if (!pool.includes(f.name))
      fail(`uniform field '${f.name}' comes from a ${f.from} that the manifest does not declare`);
  }
  const offsets = u.fields.map((f) => f.offset);
  const dupO = offsets.find((o, i) => offsets.indexOf(o) !== i);
  if (dupO !== undefined) fail(`two uniform fields share offset ${dupO}`);
  return wgsl;
}
