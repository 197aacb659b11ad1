"""One launch of a prefill kernel, ours or a peer's, for a profiler:

    ncu --profile-from-start off -c 1 --launch-skip 1 --set full \\
        python3 bench/experiments/prefill_one_launch.py [WHO [D [S [causal]]]]

WHO is `flashtile` (the mha_prefill build of generated/, or of FLASHTILE_GENERATED), `cudnn` or
`fa2` (torch SDPA's backends); default flashtile, head dim 128, S = 4096 (16k tokens in total, 16
heads, as the bench), not causal. Inputs are made before the profiled range, so only the
attention kernel's launches fall in it: the first loads and warms, the second is profiled."""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from generated_kernels import Kernel  # noqa: E402


def main():
    who = sys.argv[1] if len(sys.argv) > 1 else "flashtile"
    D = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    S = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
    causal = len(sys.argv) > 4 and sys.argv[4] == "causal"
    torch.manual_seed(0)
    H, total = 16, 16384
    B = total // S
    q, k, v = (torch.randn(total, H, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    if who == "flashtile":
        cu = torch.arange(0, total + 1, S, device="cuda", dtype=torch.int32)
        args = {"q": q, "k": k, "v": v, "cu_seqlens_q": cu, "cu_seqlens_k": cu, "out": torch.empty_like(q),
                "lse": torch.empty(total, H, device="cuda", dtype=torch.float32)}
        run = Kernel(f"mha_prefill.bf16.hd{D}.{'causal' if causal else 'nocausal'}").prepare(args, {"max_seqlen_q": S, "softmax_scale": D ** -0.5})
    else:
        qt, kt, vt = (x.view(B, S, H, D).transpose(1, 2) for x in (q, k, v))
        backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "fa2": SDPBackend.FLASH_ATTENTION}[who]

        def run():
            with sdpa_kernel(backend):
                F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal)
        run()  # outside the profiled range: cuDNN builds its plan on the first call
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
    run()
    run()
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()
    print("ok")


if __name__ == "__main__":
    main()
