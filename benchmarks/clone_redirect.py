"""The smallest eBPF mirroring path, for comparison: a cls_bpf program (direct
action) that calls bpf_clone_redirect() for every packet. Built with the
agent's own loader (no compiler)."""

import common  # noqa: E402,F401 - puts the agent package on sys.path
from traffic_mirror_agent import asm  # noqa: E402
from traffic_mirror_agent import bpf  # noqa: E402
from traffic_mirror_agent.asm import R0  # noqa: E402
from traffic_mirror_agent.asm import R2  # noqa: E402
from traffic_mirror_agent.asm import R3  # noqa: E402

BPF_FUNC_CLONE_REDIRECT = 13


def program(ifindex):
    a = asm.Program()
    a.mov(R2, ifindex)  # r1 is still the skb
    a.mov(R3, 0)  # to the device's egress
    a.call(BPF_FUNC_CLONE_REDIRECT)
    a.mov(R0, bpf.TC_ACT_OK)  # the original goes on
    a.exit()
    return a.assemble()


def pinned(ifindex):
    """Load and pin the program for ``ifindex`` (the agent's PinnedProgram); a context manager
    that yields the pin path for tc."""
    return bpf.PinnedProgram(lambda: bpf.load_code(program(ifindex), "bench_clone"), "bench_clone")


def noop_program():
    a = asm.Program()
    a.mov(R0, -1)  # TC_ACT_UNSPEC: the packet goes on, as the agent's program returns
    a.exit()
    return a.assemble()


def pinned_noop():
    return bpf.PinnedProgram(lambda: bpf.load_code(noop_program(), "bench_noop"), "bench_noop")
