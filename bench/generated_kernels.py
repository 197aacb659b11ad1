"""Our kernels from a generated package (its manifest.json and shipped PTX), loaded with the CUDA
driver API and launched on PyTorch's stream with the manifest's ABI: one pointer per tensor, then
one by-value struct of dims and scalars, then a CUtensorMap per tensor the build copies with TMA.
Shared by bench_cuda.py and the one-launch profiling scripts in bench/experiments/.
"""
import ctypes
import gzip
import json
import math
import os
import struct

import torch

try:
    from cuda.bindings import driver as cu
except ImportError:  # older cuda-python
    from cuda import cuda as cu

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# FLASHTILE_GENERATED points at another build of the package (to compare two builds in one run).
GEN = os.environ.get("FLASHTILE_GENERATED") or os.path.join(ROOT, "generated")


def check(res):
    err = res[0] if isinstance(res, tuple) else res
    if int(err) != 0:
        raise RuntimeError(f"CUDA driver error {err}")
    return res[1] if isinstance(res, tuple) and len(res) == 2 else (res[1:] if isinstance(res, tuple) else None)


def eval_sym(e, env):
    if isinstance(e, (int, float)):
        return e
    if isinstance(e, str):
        return env[e]
    a, b = (eval_sym(x, env) for x in e["args"])
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": int(a / b), "ceil_div": -(-a // b), "max": max(a, b), "min": min(a, b)}[e["op"]]


def tensor_map(t, box, swizzle, row_dims=1):
    """A CUtensorMap (128 bytes) viewing tensor t as 2-D [rows, its last `row_dims` dims as one],
    boxes of box = [columns, rows], swizzled in shared memory by `swizzle` bytes (0, 32, 64 or
    128), through the driver's cuTensorMapEncodeTiled (called by ctypes: its enums are small
    integers)."""
    dtypes = {torch.bfloat16: 9, torch.float16: 6, torch.float32: 7, torch.uint8: 0, torch.float8_e4m3fn: 0}
    assert t.is_contiguous(), "a tensor map needs a contiguous tensor"
    libcuda = ctypes.CDLL("libcuda.so.1")
    out = ctypes.create_string_buffer(128)
    u64, u32 = ctypes.c_uint64, ctypes.c_uint32
    cols = math.prod(t.shape[-row_dims:])
    dims = (u64 * 2)(cols, t.numel() // cols)
    strides = (u64 * 1)(cols * t.element_size())
    res = libcuda.cuTensorMapEncodeTiled(out, dtypes[t.dtype], 2, ctypes.c_void_p(t.data_ptr()), dims, strides,
                                         (u32 * 2)(*box), (u32 * 2)(1, 1), 0, {0: 0, 32: 1, 64: 2, 128: 3}[swizzle], 3, 0)
    if res != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed: CUDA driver error {res}")
    return out


class Kernel:
    """One CUDA build from generated/manifest.json, launchable with torch tensors."""

    def __init__(self, name, gen=None):
        # "dir@sm_80" loads that build's portable PTX even where an sm_90a one exists, to time the
        # mma.sync fallback on a Hopper card.
        gen, _, force_arch = (gen or GEN).partition("@")
        manifest = json.load(open(os.path.join(gen, "manifest.json")))
        builds = [m for m in manifest["kernels"].get(name, []) if m.get("cuda")]
        if not builds:
            raise KeyError(f"no CUDA build of {name}")
        # A kernel may have a build per architecture (a spec's `target cuda sm_80:` clause), each
        # shipping its own PTX with its own tiles, block and grid.
        by_arch = {a: m for m in builds for a in m["cuda"]["ptx"]}
        torch.cuda.init()
        # An arch-specific build (sm_90a) only on exactly its GPU, else the portable sm_80 PTX, as
        # the Node runtime's choosePtxArch picks.
        cc = "sm_%d%d" % torch.cuda.get_device_capability()
        self.arch = force_arch or (cc + "a" if cc + "a" in by_arch else "sm_80")
        self.m = by_arch[self.arch]
        c = self.m["cuda"]
        ptx = gzip.open(os.path.join(gen, "cuda", c["ptx"][self.arch])).read() + b"\0"
        torch.empty(1, device="cuda")  # make torch's primary context current
        self.module = check(cu.cuModuleLoadData(ptx))
        self.fn = check(cu.cuModuleGetFunction(self.module, c["entryPoint"].encode()))
        self.shared = c["sharedBytes"]
        if self.shared > 48 * 1024:
            check(cu.cuFuncSetAttribute(self.fn, cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, self.shared))
        self.block = c["blockDim"]
        self.params = self.m["params"]

    def prepare(self, tensors, scalars):
        """Resolve dims, grid and the argument array once; returns a zero-argument launcher."""
        env = dict(scalars)
        for t in self.m["tensors"]:
            for e, n in zip(t["shape"], tensors[t["name"]].shape):
                if isinstance(e, str):
                    env[e] = n
                elif isinstance(e, dict) and e["op"] == "add" and isinstance(e["args"][0], str):
                    env.setdefault(e["args"][0], n - e["args"][1])
        grid = [eval_sym(g, env) for g in self.m["grid"]] + [1, 1]
        u = self.m["cuda"]["uniforms"]
        blob = bytearray(u["size"])
        for f in u["fields"]:
            v = env[f["name"]]
            struct.pack_into({"i32": "<i", "u32": "<I", "f32": "<f"}[f["type"]], blob, f["offset"], v)
        keep = [ctypes.c_void_p(tensors[t["name"]].data_ptr()) for t in self.m["tensors"]]
        keep.append(ctypes.create_string_buffer(bytes(blob), len(blob)))
        # A build whose copies are TMA boxes takes a tensor map of each such tensor by value after
        # the uniforms (`__grid_constant__`), encoded here once per prepared launch.
        # Only sm_90a code reads them: the portable PTX of a build takes zeros.
        keep += [tensor_map(tensors[m["tensor"]], m["box"], m["swizzle"], m.get("rowDims", 1)) if self.arch == "sm_90a" else ctypes.create_string_buffer(128)
                 for m in self.m["cuda"].get("tensorMaps", [])]
        argv = (ctypes.c_void_p * len(keep))(*[ctypes.addressof(k) for k in keep])
        g = [int(x) for x in grid[:3]]

        def launch():
            stream = torch.cuda.current_stream().cuda_stream
            check(cu.cuLaunchKernel(self.fn, g[0], g[1], g[2], *self.block, self.shared, stream, ctypes.addressof(argv), 0))

        launch.keep = (keep, argv)
        return launch
