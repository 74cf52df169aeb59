"""Which data path each interface gets: the config's ``datapath`` (auto, ebpf,
nftables); auto means eBPF where this kernel loads the agent's kind of program
(a cls_bpf program with a per-CPU array map, bpf_skb_load_bytes and
bpf_clone_redirect), else nftables. eBPF needs no nftables egress hook (Linux
>= 5.16), so on older kernels auto mirrors both directions with it."""

import os

from . import asm
from . import bpf
from . import compiler
from . import ebpf_path
from . import maps
from .asm import R0
from .asm import R1
from .asm import R2
from .asm import R3
from .asm import R4
from .asm import R6
from .asm import R10
from .syscalls import BpfError

_probed = []


def _probe_program(map_fd):
    a = asm.Program()
    a.mov(R6, R1)
    a.mov(R1, R6).mov(R2, 0).mov(R3, R10).add(R3, -8).mov(R4, 1).call(compiler.FUNC_SKB_LOAD_BYTES)
    a.st(4, R10, -16, 0).ld_map_fd(R1, map_fd).mov(R2, R10).add(R2, -16).call(compiler.FUNC_MAP_LOOKUP_ELEM)
    a.jeq(R0, 0, "out")
    a.mov(R1, R6).mov(R2, 1).mov(R3, 0).call(compiler.FUNC_CLONE_REDIRECT)
    a.label("out")
    a.mov(R0, compiler.TC_ACT_UNSPEC).exit()
    return a.assemble()


def ebpf_problem():
    """Why this kernel cannot run the eBPF data path (a text), or None; probed once per process
    (by loading a small program of the same kind), unless the agent's programs are attached already."""
    if not _probed:
        problem = None
        if ebpf_path.scan():  # the agent's programs run here already: nothing to load to know
            _probed.append(None)
            return None
        try:
            map_fd = maps.create_counters(1)
            try:
                os.close(bpf.load_code(_probe_program(map_fd), "tma_probe"))
            finally:
                os.close(map_fd)
        except BpfError as exc:
            problem = exc.strerror
        _probed.append(problem)
    return _probed[0]


def resolve(config):
    """interface -> "ebpf" or "nftables" for ``config``."""
    if config.datapath == "auto":
        chosen = "nftables" if ebpf_problem() else "ebpf"
    else:
        chosen = config.datapath
    return {interface: chosen for interface in config.interfaces()}
