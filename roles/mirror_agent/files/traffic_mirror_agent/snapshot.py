"""One read of everything the diff compares: host.snapshot() plus the agent's
eBPF programs on the mirrored interfaces and, given a plan, the bytecode of its
nftables table and of the table the plan compiles to."""

from . import ebpf_path
from . import host


def read(plan=None):
    snap = host.snapshot()
    snap["programs"] = ebpf_path.scan(exclude=snap["ours"])
    if plan is not None:
        expect(snap, plan)
    return snap


def expect(snap, plan):
    """Add to ``snap`` the kernel's bytecode of the table (``nft_code``) and what nft makes of the plan's
    (``nft_expected``: (bytecode, None) or (None, why not)), when the plan has a table and the kernel one."""
    snap.pop("nft_code", None)
    snap.pop("nft_expected", None)
    if not plan.chains or snap["table"] is None:
        return snap
    snap["nft_code"] = host.table_bytecode()
    devices = [(name, snap["links"].get(name, {}).get("ifindex")) for name in sorted(plan.devices)]
    snap["nft_expected"] = host.expected_bytecode(plan.nft_script(), devices)
    return snap
