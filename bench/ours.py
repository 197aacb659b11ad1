"""What the CUDA benchmark's sections share (bench_cuda.py, bench_mla.py): the rows they print
and record with the card's name, timing one of our builds (or a split-KV build with its merge)
on given tensors, the other packages given with --build, and a paged KV cache in random pages."""
import json
import os

import torch

from generated_kernels import Kernel
from timing import bench, rel_err

CARD = torch.cuda.get_device_name()
ROWS = []


def row(section, shape, who, ms, metric, unit, note=""):
    ROWS.append({"section": section, "shape": shape, "who": who, "ms": ms, "metric": metric, "unit": unit, "note": note, "card": CARD})
    print(f"{section:8} {shape:34} {who:28} {ms:9.3f} ms {metric:9.1f} {unit:8} {note}", flush=True)


def time_ours(name, tensors, scalars, error, report, gen=None):
    """Time our build `name` (from `gen`, default the package) on these arguments, run it once
    more, and report(ms, error()) where error() compares its output with the peer's; a build that
    fails prints one line instead."""
    try:
        run = Kernel(name, gen).prepare(tensors, scalars)
        ms = bench(run)
        run()
        torch.cuda.synchronize()
        report(ms, error())
    except Exception as e:
        print(f"  {name}: {type(e).__name__}: {str(e)[:160]}")


# --build label=dir (repeatable): other builds of the package, timed beside ours in the same run
# (prefill, swa, the paged decode kernels, the decode splits and the MLA sections).
BUILDS = {}


def has_build(gen, name):
    """Whether the package at `gen` has a CUDA build of `name` (a --build package may hold a few kernels)."""
    with open(os.path.join(gen.split("@")[0], "manifest.json")) as f:
        return any(m.get("cuda") for m in json.load(f)["kernels"].get(name, []))


def ours_and_builds(name):
    """(label, package) pairs to time `name` from: ours (None, None), then each --build package that has it."""
    return [(None, None), *((label, gen) for label, gen in BUILDS.items() if has_build(gen, name))]


# Split lengths to time instead of the bench's choice (FLASHTILE_SPLITS=256,512,1024), for tuning.
SPLITS = [int(x) for x in os.environ.get("FLASHTILE_SPLITS", "").split(",") if x]


def time_split_merge(split_name, inputs, scalars, S, B, H, D, ref, report, gen=None):
    """Time our split-KV build `split_name` (its partial outputs allocated here; from `gen`,
    default the package) followed by merge_states.bf16.hd{D}, together and the split alone;
    report(ms, ms_split, error vs ref)."""
    try:
        op = torch.empty(S, B, H, D, device="cuda", dtype=torch.float32)
        lp = torch.empty(S, B, H, device="cuda", dtype=torch.float32)
        out = torch.empty(B * H, D, device="cuda", dtype=torch.bfloat16)
        lse = torch.empty(B * H, device="cuda", dtype=torch.float32)
        r1 = Kernel(split_name, gen).prepare({**inputs, "out_partial": op, "lse_partial": lp}, scalars)
        r2 = Kernel(f"merge_states.bf16.hd{D}").prepare({"out_partial": op.view(S, B * H, D), "lse_partial": lp.view(S, B * H), "out": out, "lse": lse}, {})
        both = lambda: (r1(), r2())
        ms = bench(both)
        ms1 = bench(r1)
        both()
        torch.cuda.synchronize()
        report(ms, ms1, rel_err(out.view(B, H, 1, D), ref) if ref is not None else float("nan"))
    except Exception as e:
        print(f"  {split_name}: {type(e).__name__}: {str(e)[:160]}")


def paged_cache(B, L, P, Hk, D, dtype=torch.bfloat16):
    """A page table of B requests of L tokens in random pages of P (page 0 unused) and K and V pools of Hk x D rows."""
    pages = (L + P - 1) // P
    total_pages = B * pages + 1
    perm = torch.randperm(total_pages - 1, device="cuda") + 1  # page 0 is the dummy
    table = perm[: B * pages].view(B, pages).to(torch.int32).contiguous()
    kc = torch.randn(total_pages * P, Hk, D, device="cuda").to(dtype)
    vc = torch.randn(total_pages * P, Hk, D, device="cuda").to(dtype)
    return table, kc, vc


def page_slots(table, P, L):
    """The pool rows of tokens 0..L-1 of each request of `table` (pages of P), request by request."""
    return (table.long()[:, :, None] * P + torch.arange(P, device="cuda")).view(table.shape[0], -1)[:, :L].reshape(-1)


def write_pages(pool, slots, rows):
    """Store `rows` (one per slot) into the pool's rows `slots`; an E4M3 pool takes their bytes."""
    if pool.dtype == torch.float8_e4m3fn:
        pool.view(torch.uint8)[slots] = rows.view(torch.uint8)
    else:
        pool[slots] = rows


def random_descales(*shape):
    """Descales in [0.05, 0.5) for an E4M3 cache (one per request, or per request and kv head)."""
    return (0.05 + 0.45 * torch.rand(*shape, device="cuda")).float()


def to_e4m3(x, desc):
    """x / desc in E4M3, desc broadcast over x's trailing dimensions (what an fp8 cache holds)."""
    return (x.float() / desc.view(*desc.shape, *[1] * (x.dim() - desc.dim()))).to(torch.float8_e4m3fn)
