"""GPU timing for bench_cuda.py: the median of CUDA-event timed calls, each queued behind a sleep."""
import os

import torch

# Each timed call waits on the GPU behind a sleep of about 1 ms (2M cycles at H100/H200 clocks),
# queued before the start event: the host's launch overhead (Python, ctypes, torch's dispatch)
# then overlaps the sleep, and the events bracket the kernels alone, ours and the peers' alike.
# Without it an idle GPU records the start event at once and then waits for the launch, which
# adds the host's microseconds to every kernel (on one H200: 5-14 us on our decode kernels, 9-39 us
# on torch's SDPA calls; bench/results/h200-decode-nosleep-* against h200-all-sleep-*).
# FLASHTILE_BENCH_NO_SLEEP=1 times the old way, for comparison.
SLEEP_CYCLES = 0 if os.environ.get("FLASHTILE_BENCH_NO_SLEEP") else 2_000_000


def bench(fn, reps=30, warmup=5):
    """Median GPU time of one call of fn (ms), over `reps` calls after `warmup`."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if SLEEP_CYCLES:
            torch.cuda._sleep(SLEEP_CYCLES)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def rel_err(x, ref):
    x, ref = x.float(), ref.float()
    return ((x - ref).norm() / ref.norm()).item()
