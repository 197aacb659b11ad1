"""Markdown tables for docs/performance.md from a bench_cuda.py --json file.

    python3 bench/tables.py out.json [--builds]

Prefill: TFLOP/s of flashtile and each peer per head dim, mask and length, with flashtile / FA2.
With --builds, rows timed with --build label=dir get a column each.
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


if __name__ == "__main__":
    print(prefill_tables(json.load(open(sys.argv[1])), "--builds" in sys.argv))
