// The flashtile WebGPU runtime, bundled from runtime/backends/webgpu by flashtile. Do not edit.
var __defProp = Object.defineProperty;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __esm = (fn, res, err) => function __init() {
  if (err) throw err[0];
  try {
    return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;
  } catch (e) {
    throw err = [e], e;
  }
};
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// runtime/backends/webgpu/dawn-node.ts
var dawn_node_exports = {};
__export(dawn_node_exports, {
  dawnSource: () => dawnSource,
  loadDawn: () => loadDawn,
  nodeGPU: () => nodeGPU
});
function dawnSource() {
  const path = dawnNodePath();
  return path ? `DAWN_NODE_PATH=${path}` : `the '${WEBGPU_PACKAGE}' package`;
}
function dawnNodePath() {
  const env = globalThis.process?.env;
  return env?.DAWN_NODE_PATH || void 0;
}
async function loadDawn() {
  const path = dawnNodePath();
  if (path) {
    try {
      const { createRequire } = await import(
        /* @vite-ignore */
        NODE_MODULE
      );
      return createRequire(import.meta.url)(path);
    } catch (e) {
      throw new Error(`cannot load Dawn from DAWN_NODE_PATH=${path}: ${e.message}`);
    }
  }
  try {
    return await import(
      /* @vite-ignore */
      WEBGPU_PACKAGE
    );
  } catch (e) {
    throw new Error(
      `cannot load WebGPU for Node: install the '${WEBGPU_PACKAGE}' package (npm install webgpu) or set DAWN_NODE_PATH to a dawn.node addon (${e.message})`
    );
  }
}
async function nodeGPU(toggles) {
  const key = toggles.join("\n");
  const cached = instances.get(key);
  if (cached) return cached;
  const dawn = await loadDawn();
  for (const [name, value] of Object.entries(dawn.globals ?? {})) {
    if (!(name in globalThis)) globalThis[name] = value;
  }
  const gpu = dawn.create([...toggles]);
  instances.set(key, gpu);
  return gpu;
}
var NODE_MODULE, WEBGPU_PACKAGE, instances;
var init_dawn_node = __esm({
  "runtime/backends/webgpu/dawn-node.ts"() {
    "use strict";
    NODE_MODULE = "node:module";
    WEBGPU_PACKAGE = "webgpu";
    instances = /* @__PURE__ */ new Map();
  }
});

// runtime/backends/webgpu/device.ts
var OPTIONAL_FEATURES = [
  "shader-f16",
  "subgroups",
  "timestamp-query",
  "subgroup-size-control",
  "chromium-experimental-subgroup-matrix"
];
var RAISED_LIMITS = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension"
];
async function getDevice(opts = {}) {
  const gpu = opts.gpu ?? await findGPU(opts.toggles ?? []);
  const adapter = await gpu.requestAdapter(
    opts.powerPreference ? { powerPreference: opts.powerPreference } : void 0
  );
  if (!adapter) throw new Error(await noAdapterMessage(opts.gpu !== void 0));
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits = {};
  const adapterLimits = adapter.limits;
  for (const name of RAISED_LIMITS) {
    const v = adapterLimits[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return { device, adapter, info: describeDevice(device, adapter) };
}
function describeDevice(device, adapter) {
  const ai = adapter?.info ?? device.adapterInfo ?? {};
  const legacyFallback = adapter?.isFallbackAdapter;
  const deviceLimits = device.limits;
  const limits = {};
  for (const name of RAISED_LIMITS) limits[name] = deviceLimits[name] ?? 0;
  return {
    vendor: ai.vendor ?? "",
    architecture: ai.architecture ?? "",
    device: ai.device ?? "",
    description: ai.description ?? "",
    isFallbackAdapter: ai.isFallbackAdapter ?? legacyFallback ?? false,
    features: [...device.features].map(String).sort(),
    // Read, never assumed: 32 on NVIDIA, 8..128 elsewhere, 8 on lavapipe.
    subgroupMinSize: typeof ai.subgroupMinSize === "number" ? ai.subgroupMinSize : void 0,
    subgroupMaxSize: typeof ai.subgroupMaxSize === "number" ? ai.subgroupMaxSize : void 0,
    limits
  };
}
async function findGPU(toggles) {
  const nav = globalThis.navigator;
  if (nav?.gpu) return nav.gpu;
  const { nodeGPU: nodeGPU2 } = await Promise.resolve().then(() => (init_dawn_node(), dawn_node_exports));
  return nodeGPU2(toggles);
}
async function noAdapterMessage(injected) {
  const inBrowser = !!globalThis.navigator?.gpu;
  if (inBrowser && !injected) {
    return "no WebGPU adapter: navigator.gpu.requestAdapter() returned null. This browser or GPU does not offer WebGPU (see chrome://gpu, or enable WebGPU in the browser's settings).";
  }
  let source = "the given GPU object";
  if (!injected) source = (await Promise.resolve().then(() => (init_dawn_node(), dawn_node_exports))).dawnSource();
  return `no WebGPU adapter (Dawn loaded from ${source} found no usable Vulkan/Metal/D3D driver). On a machine without a GPU, install Mesa's software Vulkan driver (lavapipe); on Debian 12: \`echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1\`. Debian's own Mesa 22 (without -t bookworm-backports) gives no adapter. On a GPU machine, install the vendor's Vulkan driver and ICD (NVIDIA: the driver's libnvidia-gl package providing nvidia_icd.json) and libvulkan1.`;
}

// runtime/backends/webgpu/compile.ts
async function compileWgsl(device, code, where) {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: `${where.kernel} (${where.file})`, code });
  const [info, scopeError] = await Promise.all([module.getCompilationInfo(), device.popErrorScope()]);
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    throw new Error(
      `${where.kernel}: WGSL compilation failed
${errors.map((m) => formatMessage(m, code, where.file)).join("\n")}`
    );
  }
  if (scopeError) throw new Error(`${where.kernel}: WGSL compilation failed: ${scopeError.message}`);
  return module;
}
function formatMessage(m, code, file) {
  if (!m.lineNum) return `${file}: ${m.type}: ${m.message}`;
  const line = code.split(/\r?\n/)[m.lineNum - 1] ?? "";
  const caret = " ".repeat(Math.max(0, m.linePos - 1)) + "^".repeat(Math.max(1, Math.min(m.length || 1, line.length - m.linePos + 1)));
  return `${file}:${m.lineNum}:${m.linePos}: ${m.type}: ${m.message}
    ${line}
    ${caret}`;
}

// runtime/backends/webgpu/constants.ts
var BufferUsage = {
  MAP_READ: 1,
  MAP_WRITE: 2,
  COPY_SRC: 4,
  COPY_DST: 8,
  UNIFORM: 64,
  STORAGE: 128,
  QUERY_RESOLVE: 512
};
var MapMode = { READ: 1, WRITE: 2 };
var ShaderStage = { COMPUTE: 4 };

// runtime/dtype.ts
var BYTES = { f32: 4, f16: 2, bf16: 2, f8e4m3: 1, i32: 4, u32: 4 };
function elementBytes(dtype) {
  return BYTES[dtype];
}
function bytesOfName(name) {
  return Object.hasOwn(BYTES, name) ? BYTES[name] : NaN;
}
function elementCount(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
function tensorBytes(dtype, shape) {
  return elementCount(shape) * elementBytes(dtype);
}

// runtime/manifest.ts
function meetsBound(x, b) {
  switch (b.op) {
    case ">":
      return x > b.value;
    case ">=":
      return x >= b.value;
    case "<":
      return x < b.value;
    case "<=":
      return x <= b.value;
  }
}
function evalSym(e, env) {
  if (typeof e === "number") return e;
  if (typeof e === "string") {
    const v = env[e];
    if (v === void 0) throw new Error(`no value for '${e}'`);
    return v;
  }
  const a = evalSym(e.args[0], env);
  const b = evalSym(e.args[1], env);
  switch (e.op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return Math.trunc(a / b);
    case "ceil_div":
      return Math.ceil(a / b);
    case "max":
      return Math.max(a, b);
    case "min":
      return Math.min(a, b);
  }
}
function showSym(e) {
  if (typeof e === "number" || typeof e === "string") return String(e);
  const [a, b] = e.args.map(showSym);
  const infix = { add: "+", sub: "-", mul: "*", div: "/" };
  return e.op in infix ? `(${a} ${infix[e.op]} ${b})` : `${e.op}(${a}, ${b})`;
}
function solveLinear(e, size) {
  if (typeof e !== "object") return void 0;
  const [a, b] = e.args;
  const sym = typeof a === "string" && typeof b === "number" ? { name: a, c: b, left: true } : typeof b === "string" && typeof a === "number" ? { name: b, c: a, left: false } : void 0;
  if (!sym) return void 0;
  let value;
  if (e.op === "add") value = size - sym.c;
  else if (e.op === "sub" && sym.left) value = size + sym.c;
  else if (e.op === "mul" && sym.c !== 0 && size % sym.c === 0) value = size / sym.c;
  return value !== void 0 && value >= 0 ? { name: sym.name, value } : void 0;
}
function dimInferable(m, dim) {
  return m.tensors.some((t) => t.shape.some((e) => e === dim || solveLinear(e, 1 << 20)?.name === dim));
}

// runtime/args.ts
var INT_RANGE = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1]
};
function bindTensorArgs(sig, args, rules) {
  const fail = (msg) => {
    throw new Error(`${sig.name}: ${msg}`);
  };
  if (typeof args !== "object" || args === null) fail(`arguments must be an object, got ${String(args)}`);
  const names = [...sig.tensors.map((t) => t.name), ...sig.scalars.map((s) => s.name)];
  const missing = names.filter((n) => args[n] === void 0);
  if (missing.length) {
    fail(
      `missing argument${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`
    );
  }
  const unknown = Object.keys(args).filter((n) => !names.includes(n));
  if (unknown.length) {
    fail(
      `unknown argument${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `'${n}'`).join(", ")} (the kernel takes ${names.join(", ")})`
    );
  }
  const scalars = {};
  for (const s of sig.scalars) {
    const v = args[s.name];
    if (typeof v !== "number" || !Number.isFinite(v))
      fail(`scalar argument '${s.name}' (${s.dtype}) must be a finite number, got ${showValue(v)}`);
    const n = v;
    const range = INT_RANGE[s.dtype];
    if (range && (!Number.isInteger(n) || n < range[0] || n > range[1]))
      fail(`scalar argument '${s.name}' must be a ${s.dtype}, got ${n}`);
    const broken = s.bounds?.find((b) => !meetsBound(n, b));
    if (broken) {
      fail(`scalar argument '${s.name}' must be ${broken.op} ${broken.value}, got ${n}${broken.message ? ` (${broken.message})` : ""}`);
    }
    scalars[s.name] = n;
  }
  const tensors = [];
  const dims = {};
  const dimSource = {};
  for (const t of sig.tensors) {
    const value = args[t.name];
    if (typeof value !== "object" || value === null || !rules.accepts(value) || !Array.isArray(value.shape)) {
      fail(`argument '${t.name}' must be ${rules.form}, got ${showValue(value)}`);
    }
    const shape = value.shape;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`argument '${t.name}' has shape ${showShape(shape)}, which is not a list of non-negative integers`);
    }
    if (shape.length !== t.shape.length) {
      fail(
        `argument '${t.name}' has shape ${showShape(shape)} (rank ${shape.length}) but the kernel expects ${showExpected(t.shape)} (rank ${t.shape.length})`
      );
    }
    t.shape.forEach((e, i) => {
      if (typeof e !== "string" || !sig.dims.includes(e)) return;
      if (dims[e] === void 0) {
        dims[e] = shape[i];
        dimSource[e] = t.name;
      } else if (dims[e] !== shape[i]) {
        fail(
          `argument '${t.name}' has shape ${showShape(shape)} but the kernel expects ${showExpected(t.shape)}, and ${e} = ${dims[e]} from argument '${dimSource[e]}'`
        );
      }
    });
    tensors.push({ arg: t, value });
  }
  for (const t of tensors) {
    t.arg.shape.forEach((e, i) => {
      const solved = solveLinear(e, t.value.shape[i]);
      if (solved && dims[solved.name] === void 0 && sig.dims.includes(solved.name)) {
        dims[solved.name] = solved.value;
        dimSource[solved.name] = t.arg.name;
      }
    });
  }
  for (const d of sig.dims) {
    if (dims[d] === void 0) fail(`bad manifest: runtime dimension '${d}' cannot be inferred from any tensor shape`);
  }
  const env = { ...dims, ...scalars };
  const sizes = [];
  for (const { arg: t, value } of tensors) {
    const expected = t.shape.map((e) => evalOrFail(e, env, fail, `shape of '${t.name}'`));
    if (expected.some((n, i) => n !== value.shape[i])) {
      const symbolic = t.shape.some((e) => typeof e !== "number");
      fail(
        `argument '${t.name}' has shape ${showShape(value.shape)} but the kernel expects ${showExpected(t.shape)}` + (symbolic ? `, i.e. ${showShape(expected)} with ${showEnv(t.shape, env)}` : "")
      );
    }
    if (value.dtype !== void 0 && value.dtype !== t.dtype) {
      fail(`argument '${t.name}' is ${value.dtype} but the kernel expects ${t.dtype}`);
    }
    const count = value.shape.reduce((a, b) => a * b, 1);
    const bytes = count * bytesOfName(t.dtype);
    rules.checkMemory({ arg: t, value, count, bytes }, fail);
    sizes.push(bytes);
  }
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const [a, b] = [tensors[i], tensors[j]];
      if (a.arg.access !== "read_write" && b.arg.access !== "read_write") continue;
      const why = rules.conflict({ value: a.value, bytes: sizes[i] }, { value: b.value, bytes: sizes[j] });
      if (why) {
        fail(
          `arguments '${a.arg.name}' and '${b.arg.name}' ${why}, but '${(a.arg.access === "read_write" ? a : b).arg.name}' is written`
        );
      }
    }
  }
  return { dims, scalars, tensors };
}
function evalOrFail(e, env, fail, where) {
  try {
    return evalSym(e, env);
  } catch (err) {
    return fail(`bad manifest: ${where}: ${showSymTop(e)}: ${err.message}`);
  }
}
function showSymTop(e) {
  const s = showSym(e);
  return typeof e === "object" && ["add", "sub", "mul", "div"].includes(e.op) ? s.slice(1, -1) : s;
}
function showExpected(shape) {
  return `[${shape.map(showSymTop).join(", ")}]`;
}
function showShape(shape) {
  return `[${shape.map(String).join(", ")}]`;
}
function showEnv(shape, env) {
  const names = /* @__PURE__ */ new Set();
  const walk = (e) => {
    if (typeof e === "string") names.add(e);
    else if (typeof e === "object") e.args.forEach(walk);
  };
  shape.forEach(walk);
  return [...names].map((n) => `${n} = ${env[n]}`).join(", ");
}
function showValue(v) {
  if (v === null || typeof v !== "object") return String(v);
  return Object.prototype.toString.call(v);
}

// runtime/backends/webgpu/args.ts
var gpuTensorRules = {
  form: "{ buffer: GPUBuffer, shape: number[] }",
  accepts: (v) => "buffer" in v,
  checkMemory({ arg, value, bytes }, fail) {
    const buf = value.buffer;
    if (typeof buf?.size !== "number") fail(`argument '${arg.name}': buffer is not a GPUBuffer, got ${showValue(value.buffer)}`);
    if (buf.size < bytes) {
      fail(
        `argument '${arg.name}' (${arg.dtype}${showShape(value.shape)}) needs a buffer of at least ${bytes} bytes but its buffer has ${buf.size} bytes`
      );
    }
    if (typeof buf.usage === "number" && !(buf.usage & BufferUsage.STORAGE)) {
      fail(`argument '${arg.name}': buffer was not created with STORAGE usage`);
    }
  },
  // WebGPU rejects a buffer bound twice in one dispatch when either binding is writable; say
  // which arguments alias instead of leaving it to a device validation error.
  conflict: (a, b) => a.value.buffer === b.value.buffer ? "share one buffer" : void 0
};
function bindArgs(manifest, args) {
  return bindTensorArgs(manifest, args, gpuTensorRules);
}

// runtime/backends/webgpu/cache.ts
var UniformPool = class {
  constructor(device, size, capacity = 16, label = "uniforms", onDrop = () => {
  }) {
    this.device = device;
    this.size = size;
    this.capacity = capacity;
    this.label = label;
    this.onDrop = onDrop;
  }
  device;
  size;
  capacity;
  label;
  onDrop;
  // Map iteration order is insertion order: re-inserting on use makes the first entry the
  // least recently used.
  entries = /* @__PURE__ */ new Map();
  /** Uniform buffers created so far (for tests and leak checks). */
  created = 0;
  /** A uniform buffer holding `bytes`. `pinned`: it will be used in a pass the caller submits. */
  acquire(bytes, pinned) {
    const key = keyOf(bytes);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      hit.pinned ||= pinned;
      this.entries.set(key, hit);
      return hit.buffer;
    }
    let buffer;
    if (this.entries.size >= this.capacity) {
      const [oldKey, old] = this.entries.entries().next().value;
      this.entries.delete(oldKey);
      if (old.pinned) this.onDrop(old.buffer);
      else buffer = old.buffer;
    }
    if (!buffer) {
      buffer = this.device.createBuffer({
        label: this.label,
        // Exactly the manifest's size; a kernel without uniforms still gets a (tiny) binding.
        size: this.size || 4,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST
      });
      this.created++;
    }
    this.device.queue.writeBuffer(buffer, 0, bytes);
    this.entries.set(key, { buffer, pinned });
    return buffer;
  }
  /** Buffers currently pooled. */
  get pooled() {
    return this.entries.size;
  }
  /** Destroy every pooled buffer. Work already submitted still completes. */
  destroy() {
    for (const { buffer } of this.entries.values()) buffer.destroy();
    this.entries.clear();
  }
};
function keyOf(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
var ids = /* @__PURE__ */ new WeakMap();
var nextId = 1;
function objectId(o) {
  let id = ids.get(o);
  if (id === void 0) ids.set(o, id = nextId++);
  return id;
}
var BindGroupCache = class {
  constructor(capacity = 64) {
    this.capacity = capacity;
  }
  capacity;
  groups = /* @__PURE__ */ new Map();
  /** Bind groups created so far (for tests and leak checks). */
  created = 0;
  /** `sizes`: binding sizes where not whole buffers; part of the key. */
  get(buffers, sizes, make) {
    let key = buffers.map(objectId).join(",");
    if (sizes.some((s) => s !== void 0)) key += `|${sizes.join(",")}`;
    let g = this.groups.get(key);
    if (g) {
      this.groups.delete(key);
    } else {
      g = make();
      this.created++;
      if (this.groups.size >= this.capacity) this.groups.delete(this.groups.keys().next().value);
    }
    this.groups.set(key, g);
    return g;
  }
  /** Drop the bind groups that use `buffer` (it left the uniform pool). */
  forget(buffer) {
    const id = String(objectId(buffer));
    for (const key of [...this.groups.keys()]) {
      if (key.split("|")[0].split(",").includes(id)) this.groups.delete(key);
    }
  }
  clear() {
    this.groups.clear();
  }
};

// runtime/backends/webgpu/uniforms.ts
function packUniforms(kernelName, uniforms, bound) {
  const bytes = new Uint8Array(uniforms.size);
  const view = new DataView(bytes.buffer);
  for (const f of uniforms.fields) {
    const v = (f.from === "dim" ? bound.dims : bound.scalars)[f.name];
    if (v === void 0)
      throw new Error(`${kernelName}: bad manifest: uniform field '${f.name}' names no ${f.from}`);
    switch (f.type) {
      case "f32":
        view.setFloat32(f.offset, v, true);
        break;
      case "i32":
        checkInt(kernelName, f.name, v, -(2 ** 31), 2 ** 31 - 1, "i32");
        view.setInt32(f.offset, v, true);
        break;
      case "u32":
        checkInt(kernelName, f.name, v, 0, 2 ** 32 - 1, "u32");
        view.setUint32(f.offset, v, true);
        break;
    }
  }
  return bytes;
}
function checkInt(kernel, name, v, lo, hi, type) {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new Error(`${kernel}: uniform '${name}' = ${v} does not fit the kernel's ${type} field`);
  }
}

// runtime/backends/webgpu/launch.ts
var LoadedKernel = class {
  constructor(device, info, manifest, pipeline, bindGroupLayout) {
    this.device = device;
    this.info = info;
    this.manifest = manifest;
    this.pipeline = pipeline;
    this.bindGroupLayout = bindGroupLayout;
    this.name = manifest.name;
    this.wgsl = manifest.wgsl;
    this.uniformPool = new UniformPool(
      device,
      this.wgsl.uniforms.size,
      16,
      `${this.name} uniforms`,
      (b) => this.bindGroups.forget(b)
    );
  }
  device;
  info;
  manifest;
  pipeline;
  bindGroupLayout;
  name;
  wgsl;
  uniformPool;
  bindGroups = new BindGroupCache();
  /** Check `args`, dispatch the kernel, and return the grid used (workgroups per axis). */
  launch(args, opts = {}) {
    const bound = bindArgs(this.manifest, args);
    const grid = this.grid(bound);
    if (grid.includes(0)) return grid;
    const ranges = bound.tensors.map((t) => this.bindingRange(t.arg.name, t.arg.dtype, t.value));
    const uniformBuffer = this.uniformPool.acquire(
      packUniforms(this.name, this.wgsl.uniforms, bound),
      !!opts.pass
    );
    const key = [uniformBuffer, ...bound.tensors.map((t) => t.value.buffer)];
    const bindGroup = this.bindGroups.get(
      key,
      ranges,
      () => this.device.createBindGroup({
        label: this.name,
        layout: this.bindGroupLayout,
        entries: [
          ...bound.tensors.map((t, i) => ({
            binding: t.arg.binding,
            resource: ranges[i] === void 0 ? { buffer: t.value.buffer } : { buffer: t.value.buffer, size: ranges[i] }
          })),
          { binding: this.wgsl.uniforms.binding, resource: { buffer: uniformBuffer } }
        ]
      })
    );
    const encode = (pass) => {
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    };
    if (opts.pass) {
      encode(opts.pass);
    } else {
      const encoder = this.device.createCommandEncoder({ label: opts.label ?? this.name });
      const pass = encoder.beginComputePass({ label: opts.label ?? this.name });
      encode(pass);
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    }
    return grid;
  }
  /**
   * How much of a tensor's buffer to bind: all of it (undefined) normally; only the tensor's
   * bytes when the buffer is larger than a storage binding may be (e.g. a slab allocator's).
   */
  bindingRange(name, dtype, t) {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (t.buffer.size <= max) return void 0;
    const bytes = Math.min(t.buffer.size, Math.ceil(tensorBytes(dtype, t.shape) / 4) * 4);
    if (bytes > max) {
      throw new Error(
        `${this.name}: argument '${name}' (${dtype}${showShape(t.shape)}) is ${bytes} bytes but maxStorageBufferBindingSize is ${max}`
      );
    }
    return bytes;
  }
  /** The dispatch size for these arguments, padded to 3 axes; validated against device limits. */
  grid(bound) {
    const fail = (msg) => {
      throw new Error(`${this.name}: ${msg}`);
    };
    const env = { ...bound.dims, ...bound.scalars };
    const grid = [1, 1, 1];
    this.manifest.grid.forEach(
      (e, i) => grid[i] = evalOrFail(e, env, fail, `grid axis ${this.manifest.gridAxes[i] ?? i}`)
    );
    if (!grid.every((n) => Number.isInteger(n) && n >= 0))
      fail(`grid ${showShape(grid)} is not a list of non-negative integers`);
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    grid.forEach((n, i) => {
      if (n > max) {
        const axis = this.manifest.gridAxes[i] ?? "xyz"[i];
        fail(
          `grid ${showShape(grid)} is too large: axis '${axis}' has ${n} workgroups but maxComputeWorkgroupsPerDimension is ${max}`
        );
      }
    });
    return grid;
  }
  /** Counters for tests and leak checks. */
  get stats() {
    return {
      uniformBuffers: this.uniformPool.created,
      pooledUniformBuffers: this.uniformPool.pooled,
      bindGroups: this.bindGroups.created
    };
  }
  /** Free the kernel's uniform buffers; submitted work still completes. Don't launch after. */
  destroy() {
    this.bindGroups.clear();
    this.uniformPool.destroy();
  }
};

// runtime/backends/webgpu/manifest-check.ts
function checkManifest(manifest) {
  const fail = (msg) => {
    throw new Error(`${manifest.name}: bad manifest: ${msg}`);
  };
  const wgsl = manifest.wgsl ?? fail("no WGSL target (manifest.wgsl is missing)");
  const names = [
    ...manifest.tensors.map((t) => t.name),
    ...manifest.scalars.map((s) => s.name),
    ...manifest.dims
  ];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`name '${dup}' is used twice among tensors, scalars and dims`);
  const bindings = [...manifest.tensors.map((t) => t.binding), wgsl.uniforms.binding];
  const dupB = bindings.find((b, i) => bindings.indexOf(b) !== i);
  if (dupB !== void 0) fail(`binding ${dupB} is used twice`);
  for (const d of manifest.dims) {
    if (!dimInferable(manifest, d)) {
      fail(`runtime dimension '${d}' cannot be inferred from any tensor shape`);
    }
  }
  const known = /* @__PURE__ */ new Set([...manifest.dims, ...manifest.scalars.map((s) => s.name)]);
  const checkNames = (e, where) => {
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
        `uniform field '${f.name}' at offset ${f.offset} does not fit a ${u.size}-byte block at 4-byte alignment`
      );
    }
    const pool = f.from === "dim" ? manifest.dims : manifest.scalars.map((s) => s.name);
    if (!pool.includes(f.name))
      fail(`uniform field '${f.name}' comes from a ${f.from} that the manifest does not declare`);
  }
  const offsets = u.fields.map((f) => f.offset);
  const dupO = offsets.find((o, i) => offsets.indexOf(o) !== i);
  if (dupO !== void 0) fail(`two uniform fields share offset ${dupO}`);
  return wgsl;
}

// runtime/backends/webgpu/requirements.ts
function unmetRequirements(manifest, info) {
  const wgsl = manifest.wgsl;
  if (!wgsl) return ["the manifest has no WGSL target"];
  const req = wgsl.requires;
  const lim = info.limits;
  const unmet = [];
  for (const f of req.features) {
    if (!info.features.includes(f)) unmet.push(`missing feature '${f}'`);
  }
  if (req.minSubgroupSize !== void 0) {
    if (info.subgroupMinSize === void 0) {
      unmet.push(
        `needs subgroups of at least ${req.minSubgroupSize} lanes but the adapter does not report subgroupMinSize`
      );
    } else if (info.subgroupMinSize < req.minSubgroupSize) {
      unmet.push(
        `needs subgroups of at least ${req.minSubgroupSize} lanes but the adapter's subgroupMinSize is ${info.subgroupMinSize}`
      );
    }
  }
  if (req.workgroupStorageBytes > lim.maxComputeWorkgroupStorageSize) {
    unmet.push(
      `needs ${req.workgroupStorageBytes} bytes of workgroup storage but maxComputeWorkgroupStorageSize is ${lim.maxComputeWorkgroupStorageSize}`
    );
  }
  if (req.invocations > lim.maxComputeInvocationsPerWorkgroup) {
    unmet.push(
      `needs ${req.invocations} invocations per workgroup but maxComputeInvocationsPerWorkgroup is ${lim.maxComputeInvocationsPerWorkgroup}`
    );
  }
  const [x, y, z] = wgsl.workgroupSize;
  const maxXYZ = [lim.maxComputeWorkgroupSizeX, lim.maxComputeWorkgroupSizeY, lim.maxComputeWorkgroupSizeZ];
  [x, y, z].forEach((n, i) => {
    if (maxXYZ[i] && n > maxXYZ[i]) {
      unmet.push(
        `workgroup size ${"xyz"[i]} = ${n} exceeds maxComputeWorkgroupSize${"XYZ"[i]} = ${maxXYZ[i]}`
      );
    }
  });
  if (manifest.tensors.length > lim.maxStorageBuffersPerShaderStage) {
    unmet.push(
      `binds ${manifest.tensors.length} storage buffers but maxStorageBuffersPerShaderStage is ${lim.maxStorageBuffersPerShaderStage}`
    );
  }
  return unmet;
}
function assertRequirements(manifest, info) {
  const unmet = unmetRequirements(manifest, info);
  if (unmet.length === 0) return;
  const adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown adapter";
  throw new Error(`${manifest.name}: this device (${adapter}) cannot run the kernel: ${unmet.join("; ")}`);
}

// runtime/backends/webgpu/loader.ts
async function loadKernel(device, info, manifest, wgslSource) {
  const wgsl = checkManifest(manifest);
  assertRequirements(manifest, info);
  const module = await compileWgsl(device, wgslSource, { kernel: manifest.name, file: wgsl.file });
  const bindGroupLayout = device.createBindGroupLayout({
    label: manifest.name,
    entries: [
      ...manifest.tensors.map((t) => ({
        binding: t.binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: t.access === "read" ? "read-only-storage" : "storage" }
      })),
      {
        binding: wgsl.uniforms.binding,
        visibility: ShaderStage.COMPUTE,
        // minBindingSize makes pipeline creation check that the shader's uniform struct fits the
        // manifest's block size, catching a compiler/manifest disagreement at load time.
        buffer: { type: "uniform", minBindingSize: wgsl.uniforms.size }
      }
    ]
  });
  let pipeline;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: manifest.name,
      layout: device.createPipelineLayout({ label: manifest.name, bindGroupLayouts: [bindGroupLayout] }),
      compute: { module, entryPoint: wgsl.entryPoint }
    });
  } catch (e) {
    throw new Error(`${manifest.name}: the device rejected the compute pipeline: ${e.message}`);
  }
  return new LoadedKernel(device, info, manifest, pipeline, bindGroupLayout);
}
function pickVariant(all, info) {
  const manifests = all.filter((m) => m.wgsl);
  if (manifests.length === 0) throw new Error(all.length ? `pickVariant: '${all[0].name}' has no WGSL build` : "pickVariant: no manifests given");
  const first = manifests[0];
  for (const m of manifests.slice(1)) {
    const why = interfaceDifference(first, m);
    if (why) throw new Error(`pickVariant: '${m.name}' is not a variant of '${first.name}': ${why}`);
  }
  const reasons = [];
  for (const m of manifests) {
    const unmet = unmetRequirements(m, info);
    if (unmet.length === 0) return m;
    reasons.push(`${m.name}: ${unmet.join("; ")}`);
  }
  throw new Error(
    `no variant of kernel '${first.kernel}' can run on this device:
  ${reasons.join("\n  ")}`
  );
}
function interfaceDifference(a, b) {
  if (a.kernel !== b.kernel) return `kernel '${b.kernel}' differs from '${a.kernel}'`;
  const sig = (m) => JSON.stringify({
    tensors: m.tensors.map((t) => [t.name, t.dtype, t.shape, t.access]),
    scalars: m.scalars.map((s) => [s.name, s.dtype]),
    dims: m.dims
  });
  if (sig(a) !== sig(b)) return "tensors, scalars or dims differ";
  return void 0;
}

// runtime/backends/webgpu/half.ts
var f32 = new Float32Array(1);
var u32 = new Uint32Array(f32.buffer);
function f32ToF16Bits(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = b >>> 16 & 32768;
  const exp = b >>> 23 & 255;
  const mant = b & 8388607;
  if (exp === 255) return mant ? sign | 32256 | mant >>> 13 : sign | 31744;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 31744;
  if (e >= 1) {
    let h2 = sign | e << 10 | mant >>> 13;
    const rest2 = mant & 8191;
    if (rest2 > 4096 || rest2 === 4096 && h2 & 1) h2++;
    return h2;
  }
  const shift = 126 - exp;
  if (shift > 24) return sign;
  const sig = mant | 8388608;
  let h = sig >>> shift;
  const rest = sig & (1 << shift) - 1;
  const half = 1 << shift - 1;
  if (rest > half || rest === half && h & 1) h++;
  return sign | h;
}
function f16BitsToF32(h) {
  const sign = h & 32768 ? -1 : 1;
  const e = h >>> 10 & 31;
  const m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1024 + m) * 2 ** (e - 25);
}
function f32ToBf16Bits(x) {
  f32[0] = x;
  const b = u32[0];
  if ((b & 2147483647) > 2139095040) return b >>> 16 | 64;
  return b + 32767 + (b >>> 16 & 1) >>> 16 & 65535;
}
function bf16BitsToF32(h) {
  u32[0] = (h & 65535) << 16;
  return f32[0];
}
function roundToF16(x) {
  return f16BitsToF32(f32ToF16Bits(x));
}
function roundToBf16(x) {
  return bf16BitsToF32(f32ToBf16Bits(x));
}
function encodeHalf(dtype, values) {
  const enc = dtype === "f16" ? f32ToF16Bits : f32ToBf16Bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = enc(values[i]);
  return out;
}
function decodeHalf(dtype, bits) {
  const dec = dtype === "f16" ? f16BitsToF32 : bf16BitsToF32;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = dec(bits[i]);
  return out;
}

// runtime/fp8.ts
var E4M3_NAN = 127;
function e4m3BitsToF32(b) {
  const sign = b & 128 ? -1 : 1;
  const e = b >>> 3 & 15;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (8 + m) * 2 ** (e - 10);
}
function encodeE4m3(values, saturate = false) {
  const n = values.length;
  const out = new Uint8Array(n);
  const f322 = values instanceof Float32Array ? values : Float32Array.from(values);
  const bits = new Uint32Array(f322.buffer, f322.byteOffset, n);
  const overflow = saturate ? 126 : E4M3_NAN;
  for (let i = 0; i < n; i++) {
    const u = bits[i];
    const sign = u >>> 24 & 128;
    const a = u & 2147483647;
    if (a > 2139095040) out[i] = E4M3_NAN;
    else if (a > E4M3_ROUNDS_TO_MAX) out[i] = sign | overflow;
    else if (a >= E4M3_MIN_NORMAL) {
      out[i] = sign | (a + 524287 + (a >>> 20 & 1) >>> 20) - (120 << 3);
    } else {
      const x = f322[i] < 0 ? -f322[i] * 512 : f322[i] * 512;
      let r = Math.floor(x);
      const rest = x - r;
      if (rest > 0.5 || rest === 0.5 && (r & 1) === 1) r++;
      out[i] = sign | r;
    }
  }
  return out;
}
var E4M3_ROUNDS_TO_MAX = 1139277824;
var E4M3_MIN_NORMAL = 1015021568;
var E4M3_VALUES = Float32Array.from({ length: 256 }, (_, c) => e4m3BitsToF32(c));
function decodeE4m3(bits) {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = E4M3_VALUES[bits[i] & 255];
  return out;
}

// runtime/backends/webgpu/timing.ts
async function timestamp(device, encode) {
  const useQuery = device.features.has("timestamp-query");
  const querySet = useQuery ? device.createQuerySet({ type: "timestamp", count: 2 }) : void 0;
  const resolve = useQuery ? device.createBuffer({ size: 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC }) : void 0;
  const readback = useQuery ? device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST }) : void 0;
  try {
    const encoder = device.createCommandEncoder({ label: "timestamp" });
    const pass = encoder.beginComputePass(
      querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {}
    );
    encode(pass);
    pass.end();
    if (querySet && resolve && readback) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    }
    const commands = encoder.finish();
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    device.queue.submit([commands]);
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - t0;
    if (readback) {
      await readback.mapAsync(MapMode.READ);
      const [begin, end] = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      if (end > begin && begin > 0n)
        return { ms: Number(end - begin) / 1e6, source: "timestamp-query", wallMs };
    }
    return { ms: wallMs, source: "wall-clock", wallMs };
  } finally {
    querySet?.destroy();
    resolve?.destroy();
    readback?.destroy();
  }
}

// runtime/backends/webgpu/buffers.ts
function createTensor(device, dtype, shape, data, opts = {}) {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`createTensor: bad shape [${shape.join(", ")}]`);
  const n = elementCount(shape);
  if (data !== void 0 && data.length !== n) {
    throw new Error(
      `createTensor: ${dtype}[${shape.join(", ")}] has ${n} elements but data has ${data.length}`
    );
  }
  const size = Math.max(4, Math.ceil(tensorBytes(dtype, shape) / 4) * 4);
  const buffer = device.createBuffer({
    label: opts.label,
    size,
    usage: opts.usage ?? BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    mappedAtCreation: data !== void 0
  });
  if (data !== void 0) {
    const bytes = hostBytes(dtype, data);
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
  }
  return { buffer, dtype, shape: [...shape] };
}
function hostBytes(dtype, data) {
  let arr;
  switch (dtype) {
    case "f32":
      arr = data instanceof Float32Array ? data : Float32Array.from(data);
      break;
    case "i32":
    case "u32":
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(data[i]))
          throw new Error(`createTensor: ${dtype} data[${i}] = ${data[i]} is not an integer`);
      }
      arr = dtype === "i32" ? data instanceof Int32Array ? data : Int32Array.from(data) : data instanceof Uint32Array ? data : Uint32Array.from(data);
      break;
    case "f16":
    case "bf16":
      arr = data instanceof Uint16Array ? data : encodeHalf(dtype, data);
      break;
    case "f8e4m3":
      arr = data instanceof Uint8Array ? data : encodeE4m3(data);
      break;
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}
var POISON = {
  f32: 2143289344,
  f16: 2113961472,
  bf16: 2143322048,
  f8e4m3: 2139062143,
  i32: 2147483647,
  u32: 2147483647
};
function poison(device, tensor) {
  const size = tensor.buffer.size - tensor.buffer.size % 4;
  const chunk = new Uint32Array(Math.min(size, 1 << 22) / 4).fill(POISON[tensor.dtype]);
  for (let off = 0; off < size; off += chunk.byteLength) {
    const len = Math.min(chunk.byteLength, size - off);
    device.queue.writeBuffer(tensor.buffer, off, chunk, 0, len / 4);
  }
}
async function readTensor(device, tensor) {
  const n = elementCount(tensor.shape);
  const bytes = tensorBytes(tensor.dtype, tensor.shape);
  const copySize = Math.min(Math.ceil(bytes / 4) * 4, tensor.buffer.size - tensor.buffer.size % 4);
  if (copySize < bytes)
    throw new Error(
      `readTensor: buffer of ${tensor.buffer.size} bytes is too small for ${tensor.dtype}[${tensor.shape.join(", ")}]`
    );
  const staging = device.createBuffer({
    size: Math.max(4, copySize),
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST
  });
  try {
    if (copySize > 0) {
      const encoder = device.createCommandEncoder({ label: "readTensor" });
      encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, copySize);
      device.queue.submit([encoder.finish()]);
    }
    await staging.mapAsync(MapMode.READ);
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    let out;
    if (tensor.dtype === "f16" || tensor.dtype === "bf16")
      out = decodeHalf(tensor.dtype, new Uint16Array(copy, 0, n));
    else if (tensor.dtype === "f8e4m3") out = decodeE4m3(new Uint8Array(copy, 0, n));
    else if (tensor.dtype === "i32") out = new Int32Array(copy, 0, n);
    else if (tensor.dtype === "u32") out = new Uint32Array(copy, 0, n);
    else out = new Float32Array(copy, 0, n);
    return out;
  } finally {
    staging.destroy();
  }
}
export {
  BufferUsage,
  LoadedKernel,
  MapMode,
  OPTIONAL_FEATURES,
  ShaderStage,
  bf16BitsToF32,
  bindArgs,
  createTensor,
  decodeHalf,
  describeDevice,
  elementBytes,
  encodeHalf,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  getDevice,
  loadKernel,
  packUniforms,
  pickVariant,
  poison,
  readTensor,
  roundToBf16,
  roundToF16,
  timestamp,
  unmetRequirements
};
