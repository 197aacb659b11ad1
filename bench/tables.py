"""Markdown tables for docs/performance.md from a bench_cuda.py --json file.

    python3 bench/tables.py out.json [--builds]

Prefill: TFLOP/s of flashtile and each peer per head dim, mask and length, with flashtile / FA2.
With --builds, rows timed with --build label=dir get a column each.
Decode, FP8 decode and MLA: TB/s of each kernel and peer per B x L, one column per kernel with
its page sizes side by side (page 1 / 16 / 64). Sliding window: each kernel's time.
"""
import json
import re
import sys


def prefill_tables(rows, builds=False):
    pre = [r for r in rows if r["section"] == "prefill"]
    cells = {}
    labels = []
    for r in pre:
        m = re.match(r"hd(\d+) S=(\d+) B=(\d+) (full|causal)", r["shape"])
        d, s, b, mask = int(m[1]), int(m[2]), int(m[3]), m[4]
        cells.setdefault((d, mask), {}).setdefault((s, b), {})[r["who"]] = r["metric"]
        if r["who"].startswith("flashtile [") and r["who"] not in labels:
            labels.append(r["who"])
    peers = ["SDPA flash (FA2)", "SDPA cuDNN", "FlexAttention"]
    out = []
    for (d, mask), by_len in cells.items():
        extra = labels if builds else []
        out.append(f"### head_dim {d}, {'causal' if mask == 'causal' else 'not causal'}")
        head = ["S", "batch", "flashtile", *peers, *extra, "flashtile / FA2"]
        out.append("| " + " | ".join(head) + " |")
        out.append("| " + " | ".join("---:" for _ in head) + " |")
        for (s, b), who in sorted(by_len.items()):
            fmt = lambda k: f"{who[k]:.0f}" if k in who else ""
            ratio = f"{who['flashtile'] / who['SDPA flash (FA2)']:.2f}" if "flashtile" in who and "SDPA flash (FA2)" in who else ""
            out.append("| " + " | ".join([str(s), str(b), fmt("flashtile"), *map(fmt, peers), *map(fmt, extra), ratio]) + " |")
        out.append("")
    return "\n".join(out)


PAGED = re.compile(r"^(.*?) (?:page (\d+)|contiguous)(.*)$")
SPLIT = re.compile(r"split \d+\+merge")


def paged_tables(rows, section, builds=False):
    """One table: a row per B x L, a column per kernel or peer, its page sizes side by side."""
    cells, whos, pages = {}, [], {}
    mine = [r for r in rows if r["section"] == section and (builds or "[" not in r["who"])]
    # One split length a shape: its columns merge into one "split+merge" (the length is in the log).
    per_shape = {}
    for r in mine:
        m = PAGED.match(r["shape"])
        per_shape.setdefault(m[1], set()).update(SPLIT.findall(r["who"]))
    merge = all(len(v) <= 1 for v in per_shape.values())
    for r in mine:
        m = PAGED.match(r["shape"])
        base, page = m[1] + m[3], m[2] or "contiguous"
        who = SPLIT.sub("split+merge", r["who"]) if merge else r["who"]
        if "contiguous" == page:
            who = f"{who} (contiguous)"
        if who not in whos:
            whos.append(who)
        pages.setdefault(who, [])
        if page not in pages[who]:
            pages[who].append(page)
        cells.setdefault(base, {}).setdefault(who, {})[page] = r["metric"]
    unit = mine[0]["unit"] if mine else ""
    head = ["B x L", *(f"{w}, page {' / '.join(pages[w])}" if pages[w] != ["contiguous"] else w for w in whos)]
    out = [f"{unit} of the cache read", "", "| " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(whos)]
    for base, by_who in cells.items():
        row = [base]
        for w in whos:
            got = by_who.get(w, {})
            row.append(" / ".join(f"{got[p]:.2f}" if p in got else "-" for p in pages[w]) if got else "")
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def time_table(rows, section, builds=False):
    """One row per kernel or peer: milliseconds and the section's metric."""
    mine = [r for r in rows if r["section"] == section and (builds or "[" not in r["who"])]
    out = ["| shape | who | ms | " + (mine[0]["unit"] if mine else "") + " |", "| --- | --- | ---: | ---: |"]
    out += [f"| {r['shape']} | {r['who']} | {r['ms']:.3f} | {r['metric']:.0f} |" for r in mine]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    rows = json.load(open(sys.argv[1]))
    builds = "--builds" in sys.argv
    print(prefill_tables(rows, builds))
    for section, title in (("decode", "Paged decode"), ("decode8", "Paged decode, FP8 (E4M3) cache"), ("mla", "MLA decode"), ("mla8", "MLA decode, FP8 (E4M3) latent cache")):
        if any(r["section"] == section for r in rows):
            print(f"### {title}\n\n{paged_tables(rows, section, builds)}")
    if any(r["section"] == "pprefill" for r in rows):
        print(f"### Prefill through the paged cache\n\n{time_table(rows, 'pprefill', builds)}")
    if any(r["section"] == "swa" for r in rows):
        print(f"### Sliding window\n\n{time_table(rows, 'swa', builds)}")
