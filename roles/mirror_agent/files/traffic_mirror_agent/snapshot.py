"""One read of everything the diff compares: host.snapshot() plus the agent's
eBPF programs on the mirrored interfaces and, given a plan, the bytecode of the
table the plan compiles to (host.snapshot() has the kernel's)."""

from . import ebpf_path
from . import host


def read(plan=None, store=False):
    snap = host.snapshot()
    snap["programs"] = ebpf_path.scan(exclude=snap["ours"])
    if plan is not None:
        expect(snap, plan, store)
    return snap


def expect(snap, plan, store=False):
    """Add to ``snap`` what nft makes of the plan's table (``nft_expected``: (bytecode, None) or (None, why
    not)), when the plan has a table and the kernel one (``nft_code``, read by host.snapshot())."""
    snap.pop("nft_expected", None)
    if not plan.chains or snap["table"] is None:
        return snap
    devices = [(name, snap["links"].get(name, {}).get("ifindex")) for name in sorted(plan.devices)]
    snap["nft_expected"] = host.expected_bytecode(plan.nft_script(), devices, store)
    return snap
