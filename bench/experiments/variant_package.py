"""A package of hand-edited builds, for `bench_cuda.py --build LABEL=DIR` and `cuda-suite.mjs
--generated DIR`: the shipped manifest (generated/) trimmed to some kernels, their PTX copied,
and the sm_90a PTX of the builds an edit applies to rebuilt from the edited CUDA C by nvcc
(ptxas's register, spill and C75xx lines printed). The variant scripts of this folder use it."""
import gzip
import json
import os
import shutil
import subprocess


def shipped(name):
    """The CUDA C of build `name` in generated/."""
    return open(f"generated/cuda/{name}.cu").read()


def at_commit(rev):
    """The CUDA C of a build as the package at commit `rev` had it (an edit of older output)."""
    return lambda name: subprocess.run(["git", "show", f"{rev}:generated/cuda/{name}.cu"], capture_output=True, text=True, check=True).stdout


def matches(name, prefixes):
    """Does `name` start with one of `prefixes` (a str or a tuple)? A prefix ending in `$` is a
    whole name (`gqa_paged.bf16.g4.p1$` leaves out `gqa_paged.bf16.g4.p16`)."""
    for p in (prefixes,) if isinstance(prefixes, str) else prefixes:
        if name == p[:-1] if p.endswith("$") else name.startswith(p):
            return True
    return False


def build(out, keep, edited, edit, shared_bytes=None, source=shipped):
    """Write package `out`: the kernels whose names match a prefix in `keep`; the sm_90a builds
    whose names match `edited` get the PTX of `edit(source(name))`, their edited CUDA C (prefixes
    as `matches` reads them). `shared_bytes`, if given, replaces an edited build's shared-memory
    size in the manifest."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(f"{out}/cuda")
    man = json.load(open("generated/manifest.json"))
    kernels = {k: v for k, v in man["kernels"].items() if matches(k, tuple(keep))}
    for entries in kernels.values():
        for e in entries:
            ptxs = (e.get("cuda") or {}).get("ptx", {})
            for f in ptxs.values():
                shutil.copy(f"generated/cuda/{f}", f"{out}/cuda/{f}")
            name = e["cuda"]["file"][:-3] if ptxs else ""
            if "sm_90a" not in ptxs or not matches(name, edited):
                continue
            src = edit(source(name))
            cu, ptx = f"{out}/{name}.cu", f"{out}/{name}.sm_90a.ptx"
            open(cu, "w").write(src)
            subprocess.run(["nvcc", "-ptx", "-gencode=arch=compute_90a,code=sm_90a", "-std=c++17", "-O3", cu, "-o", ptx], check=True)
            r = subprocess.run(["nvcc", "-cubin", "-arch=sm_90a", "-std=c++17", "-O3", "-Xptxas", "-v", cu, "-o", f"{out}/{name}.cubin"], capture_output=True, text=True, check=True)
            print(out, name, " ".join(l.strip() for l in r.stderr.splitlines() if "registers" in l or "spill" in l or "C75" in l))
            with open(ptx, "rb") as f, gzip.open(f"{out}/cuda/{ptxs['sm_90a']}", "wb") as z:
                z.write(f.read())
            if shared_bytes is not None:
                e["cuda"]["sharedBytes"] = shared_bytes
    json.dump({"kernels": kernels}, open(f"{out}/manifest.json", "w"))


MLA = ("mla_decode_split.", "mla_paged.", "merge_states")


def main(out, variants, keep=MLA, edited="mla_", **kw):
    """A variant script's command line: build package `out`/NAME for each variant named on it
    (every variant when none is), then print ok."""
    import sys
    for name in sys.argv[1:] or variants:
        build(f"{out}/{name}", keep, edited, variants[name], **kw)
    print("ok")
