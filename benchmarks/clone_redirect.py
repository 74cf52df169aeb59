"""The smallest eBPF mirroring path, for comparison: a cls_bpf program (direct
action) that calls bpf_clone_redirect() for every packet. Built with the
agent's own loader (no compiler)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "roles", "mirror_agent", "files"))

from traffic_mirror_agent import bpf  # noqa: E402

BPF_FUNC_CLONE_REDIRECT = 13


def program(ifindex):
    return b"".join(
        [
            bpf._insn(0xB7, dst=2, imm=ifindex),  # r2 = ifindex (r1 is still the skb)
            bpf._insn(0xB7, dst=3, imm=0),  # r3 = 0: to the device's egress
            bpf._insn(0x85, imm=BPF_FUNC_CLONE_REDIRECT),  # call bpf_clone_redirect
            bpf._insn(0xB7, dst=0, imm=bpf.TC_ACT_OK),  # r0 = TC_ACT_OK: the original goes on
            bpf._insn(0x95),  # exit
        ]
    )


def pinned(ifindex):
    """Load and pin the program for ``ifindex`` (the agent's PinnedProgram); a context manager
    that yields the pin path for tc."""
    return bpf.PinnedProgram(lambda: bpf.load_code(program(ifindex), "bench_clone"), "bench_clone")
