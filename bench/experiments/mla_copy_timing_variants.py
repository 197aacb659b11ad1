# MLA split kernel under the leader schedule, when warpgroup 1 issues the next tile's copies
# (2026-11-29, thirteenth session): hand edits of the whole-tile loop's group-1 version of the
# shipped mla_decode_split.bf16.p{1,16,64}.cu. Today group 1 issues them right after the tile's
# barrier, while group 0 computes the scores, whose 36 m64n64k16 from shared memory use about all
# of its bandwidth; the copies' writes land in the same shared memory. Variants:
#   afterp   the copies issued once P is published (after group 1's wait for it)
#   duringpv the copies issued right after group 1's P·V is issued, before its wait
# Writes tmp/copytiming/<variant>: packages (the shipped manifest trimmed to mla_decode_split and
# merge_states) with the variant's sm_90a PTX. Run from the repository root with generated/ built.
import re

from variant_package import build

OUT = "tmp/copytiming"


def edit(src, variant):
    full = src.index("  // full tiles\n")
    top = src.index("  } else { // the other groups", full)
    end = src.index("__syncthreads(); // the loop's published rows are read", top)
    loop = src[top:end]
    start = loop.index("arrived; every warp is done with the other buffers\n") + len("arrived; every warp is done with the other buffers\n")
    wait = re.search(r"\n(\s*// [^\n]*\n)*\s*published_wait\(\);[^\n]*\n", loop[start:])
    copies = loop[start:start + wait.start() + 1]
    assert copies.count("cp_async_commit();") == 2, copies
    body = loop[:start] + loop[start + wait.start() + 1:]
    if variant == "afterp":
        m = re.search(r"published_wait\(\);[^\n]*\n", body)
        body = body[:m.end()] + copies + body[m.end():]
    else:
        i = body.index("wgmma_commit_wait();", body.index("published_wait();"))
        indent = re.search(r"\n(\s*)wgmma_commit_wait\(\);", body[i - 40:]).group(1)
        body = body[:i] + "wgmma_commit();\n" + copies + indent + "wgmma_wait<0>();" + body[i + len("wgmma_commit_wait();"):]
    return src[:top] + body + src[end:]


def main():
    for variant in ("afterp", "duringpv"):
        build(f"{OUT}/{variant}", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", lambda src: edit(src, variant))
    print("ok")


if __name__ == "__main__":
    main()
