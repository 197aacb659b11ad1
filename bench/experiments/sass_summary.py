"""Sum Nsight Compute's per-instruction SASS counters by opcode:

    ncu --section SourceCounters --page source --csv --print-source sass ... > OUT.csv
    python3 bench/experiments/sass_summary.py OUT.csv [TILES]

prints the stall reasons' shares of the samples, then the warp-level instructions executed, their share and the share of stall samples for each
opcode (predicates and modifiers stripped: `@P0 IMAD.WIDE` counts as IMAD); with TILES (warps x key
tiles of the launch) also the instructions per warp per tile."""
import csv
import re
import sys
from collections import Counter


def rows(path):
    lines = open(path, errors="replace").read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith('"') and "Source" in l)
    return list(csv.DictReader(lines[start:]))


def number(s):
    try:
        return float(str(s).replace(",", ""))
    except ValueError:
        return 0.0


def main():
    path = sys.argv[1]
    tiles = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    rs = rows(path)
    keys = rs[0].keys()
    inst_key = next(k for k in keys if k.startswith("Warp") is False and "Instructions Executed" in k and "Thread" not in k)
    samp_key = next((k for k in keys if "Sampling (All" in k), None)
    inst, samp = Counter(), Counter()
    for r in rs:
        src = r.get("Source", "").strip()
        src = re.sub(r"^@!?U?P\w+\s+", "", src)
        op = re.split(r"[\s.]", src, 1)[0] if src else ""
        if not op:
            continue
        inst[op] += number(r[inst_key])
        if samp_key:
            samp[op] += number(r[samp_key])
    ti, ts = sum(inst.values()), sum(samp.values()) or 1
    print(f"{ti:.0f} warp-instructions" + (f", {ti / tiles:.0f} per warp per tile" if tiles else "") + f"; {ts:.0f} stall samples")
    stalls = Counter({k[len("stall_"):]: sum(number(r[k]) for r in rs) for k in keys if k.startswith("stall_") and "(" not in k})
    total = sum(stalls.values()) or 1
    print("  stalls: " + ", ".join(f"{k} {100 * n / total:.0f}%" for k, n in stalls.most_common(9) if n))
    for op, n in inst.most_common(24):
        print(f"  {op:10} {100 * n / ti:5.1f}% of instructions {100 * samp[op] / ts:5.1f}% of samples" + (f"  {n / tiles:6.1f} per warp per tile" if tiles else ""))


if __name__ == "__main__":
    main()
