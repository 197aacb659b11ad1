// Run one paged GQA attention kernel from @flashtile/kernels on the browser's WebGPU device and
// check it against the float64 reference in reference.js. Plain ES modules, no build step: the
// import map in index.html maps "@flashtile/kernels" to /generated/index.js.
//
// URL parameters: ?seed=N (replay an input set), ?kernel=gqa_paged.f32.g1.p64 (another f32
// gqa_paged instance). When done, window.flashtileResult holds the outcome for automation.
import { createTensor, getDevice, kernelModule, load, poison, readTensor } from "@flashtile/kernels";
import { pagedAttention, relError } from "./reference.js";

const params = new URLSearchParams(location.search);
const KERNEL = params.get("kernel") ?? "gqa_paged.f32.g4.p16";
const SEED = params.has("seed") ? Number(params.get("seed")) >>> 0 : crypto.getRandomValues(new Uint32Array(1))[0];
const TOLERANCE = 1e-5; // relative L2 error allowed for f32

// Small shapes (a software adapter is slow): a decode request (1 query, 1 key), and two extend
// requests whose new queries follow a cached prefix spanning several pages.
const Q_LENS = [1, 3, 6];
const K_LENS = [1, 21, 40]; // cache_seqlens: cached prefix + new tokens
const KV_HEADS = 2;

const $ = (id) => document.getElementById(id);
const log = (line) => {
  $("log").textContent += `${line}\n`;
};

// ---- seeded random inputs -----------------------------------------------------------------

/** mulberry32: uniform in [0, 1). */
function makeRng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal samples (Box-Muller), already f32 so kernel and reference see the same values. */
function randn(n, rng) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  return a;
}

function shuffle(a, rng) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * A paged KV cache with a hostile page table: pages handed out in random order (never
 * contiguous within a request), page 0 reserved as the dummy page that unused table entries point
 * at, and random garbage in every slot no request owns, so reading a wrong slot changes the answer.
 */
function makePagedCase({ qLens, kLens, kvHeads, group, headDim, pageSize }, rng) {
  const qHeads = kvHeads * group;
  const batch = qLens.length;
  const pagesPer = kLens.map((n) => Math.ceil(n / pageSize));
  const maxPages = Math.max(1, ...pagesPer);
  const numPages = 1 + pagesPer.reduce((a, b) => a + b, 0) + 1; // dummy page 0 + used + one spare
  const pool = shuffle(Array.from({ length: numPages - 1 }, (_, i) => i + 1), rng);
  const pageTable = new Int32Array(batch * maxPages); // zeros: the dummy page
  let next = 0;
  for (let b = 0; b < batch; b++) {
    const pages = pool.slice(next, (next += pagesPer[b]));
    if (pages.length > 1 && pages.every((p, i) => i === 0 || p === pages[i - 1] + 1)) pages.reverse();
    pageTable.set(pages, b * maxPages);
  }
  const cuSeqlensQ = new Int32Array(batch + 1);
  for (let b = 0; b < batch; b++) cuSeqlensQ[b + 1] = cuSeqlensQ[b] + qLens[b];
  const tokens = cuSeqlensQ[batch];
  const slots = numPages * pageSize;
  return {
    qHeads, kvHeads, headDim, pageSize, maxPages, slots, tokens,
    q: randn(tokens * qHeads * headDim, rng),
    kCache: randn(slots * kvHeads * headDim, rng),
    vCache: randn(slots * kvHeads * headDim, rng),
    pageTable,
    cacheSeqlens: Int32Array.from(kLens),
    cuSeqlensQ,
    maxSeqlenQ: Math.max(...qLens),
    scale: 1 / Math.sqrt(headDim),
  };
}

// ---- the run --------------------------------------------------------------------------------

async function main() {
  const ms = {};
  let t = performance.now();
  const lap = (name) => {
    const now = performance.now();
    ms[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };

  if (!navigator.gpu) {
    throw new Error(
      "navigator.gpu is missing: this browser has no WebGPU here. WebGPU needs a secure context " +
        "(https:// or http://localhost) and a browser that enables it (Chrome/Edge 113+, or Chromium " +
        "with --enable-unsafe-webgpu on Linux).",
    );
  }
  const { device, info } = await getDevice();
  lap("device");
  const adapter = {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    isFallbackAdapter: info.isFallbackAdapter, features: info.features,
    subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize, limits: info.limits,
  };
  $("adapter").textContent =
    `${info.vendor || "?"} / ${info.architecture || "?"}${info.description ? ` (${info.description})` : ""}` +
    `${info.isFallbackAdapter ? ", fallback adapter" : ""}; subgroup size ${info.subgroupMinSize ?? "?"}..${info.subgroupMaxSize ?? "?"}; ` +
    `features: ${info.features.join(", ") || "none"}`;
  const gpuErrors = [];
  device.addEventListener("uncapturederror", (e) => gpuErrors.push(e.error.message));
  device.lost.then((l) => gpuErrors.push(`device lost (${l.reason}): ${l.message}`));

  const mod = await kernelModule(KERNEL);
  if (mod.kernel !== "gqa_paged" || mod.params.T !== "f32") throw new Error(`this page runs f32 gqa_paged kernels, not ${KERNEL}`);
  const kernel = await load(device, info, KERNEL); // the best variant this device supports
  lap("load");
  const variant = kernel.manifest.wgsl.file;
  const requires = kernel.manifest.wgsl.requires;
  $("kernel").textContent = KERNEL;
  $("variant").textContent = `${variant} (of ${mod.variants.map((v) => v.manifest.wgsl.file).join(", ")}); requires ${JSON.stringify(requires)}`;

  const { GROUP, HEAD_DIM, PAGE } = mod.params;
  const c = makePagedCase({ qLens: Q_LENS, kLens: K_LENS, kvHeads: KV_HEADS, group: GROUP, headDim: HEAD_DIM, pageSize: PAGE }, makeRng(SEED));
  const shapes = `batch ${Q_LENS.length}, q lens [${Q_LENS}], k lens [${K_LENS}], q heads ${c.qHeads}, kv heads ${c.kvHeads}, ` +
    `head dim ${c.headDim}, page ${c.pageSize}, page table [${c.pageTable}], causal`;
  $("shapes").textContent = `${shapes}; seed ${SEED}`;

  const args = {
    q: createTensor(device, "f32", [c.tokens, c.qHeads, c.headDim], c.q),
    k_cache: createTensor(device, "f32", [c.slots, c.kvHeads, c.headDim], c.kCache),
    v_cache: createTensor(device, "f32", [c.slots, c.kvHeads, c.headDim], c.vCache),
    page_table: createTensor(device, "i32", [Q_LENS.length, c.maxPages], c.pageTable),
    cache_seqlens: createTensor(device, "i32", [Q_LENS.length], c.cacheSeqlens),
    cu_seqlens_q: createTensor(device, "i32", [Q_LENS.length + 1], c.cuSeqlensQ),
    out: createTensor(device, "f32", [c.tokens, c.qHeads, c.headDim]),
    lse: createTensor(device, "f32", [c.tokens, c.qHeads]),
    max_seqlen_q: c.maxSeqlenQ,
    softmax_scale: c.scale,
    is_causal: 1,
  };
  poison(device, args.out); // NaN everywhere: anything the kernel fails to write shows up
  poison(device, args.lse);
  device.pushErrorScope("validation");
  const grid = kernel.launch(args);
  const launchError = await device.popErrorScope();
  if (launchError) gpuErrors.push(launchError.message);
  const got = { out: await readTensor(device, args.out), lse: await readTensor(device, args.lse) };
  lap("run");

  const ref = pagedAttention({ ...c, causal: true });
  lap("reference");
  const errors = { out: relError(got.out, ref.out), lse: relError(got.lse, ref.lse) };
  const ok = errors.out <= TOLERANCE && errors.lse <= TOLERANCE && gpuErrors.length === 0;
  for (const tensor of Object.values(args)) tensor.buffer?.destroy();
  kernel.destroy();

  $("errors").textContent =
    `out ${errors.out.toExponential(2)}, lse ${errors.lse.toExponential(2)} (tolerance ${TOLERANCE.toExponential(0)})` +
    (gpuErrors.length ? `; WebGPU errors: ${gpuErrors.join("; ")}` : "");
  $("timings").textContent = `device ${ms.device} ms, load ${ms.load} ms, launch + read back ${ms.run} ms, reference ${ms.reference} ms; grid [${grid}]`;
  return { ok, errors, tolerance: TOLERANCE, kernel: KERNEL, variant, adapter, seed: SEED, shapes, grid, gpuErrors, ms };
}

main()
  .then((result) => {
    const v = $("verdict");
    v.textContent = result.ok ? "PASS" : "FAIL";
    v.className = result.ok ? "pass" : "fail";
    log(JSON.stringify(result, null, 2));
    window.flashtileResult = result;
  })
  .catch((e) => {
    const error = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
    $("verdict").textContent = "ERROR";
    $("verdict").className = "fail";
    log(error);
    console.error(e);
    window.flashtileResult = { ok: false, error, kernel: KERNEL, seed: SEED };
  });
