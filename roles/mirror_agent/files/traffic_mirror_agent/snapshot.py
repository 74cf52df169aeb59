"""One read of everything the diff compares: host.snapshot() plus the agent's
eBPF programs on the mirrored interfaces."""

from . import ebpf_path
from . import host


def read():
    snap = host.snapshot()
    snap["programs"] = ebpf_path.scan(exclude=snap["ours"])
    return snap
