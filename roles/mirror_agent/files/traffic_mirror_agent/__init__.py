"""traffic_mirror_agent: AWS Traffic Mirroring semantics in the Linux kernel.

Run as ``python3 -m traffic_mirror_agent COMMAND`` (render, apply, status,
remove, run). Stdlib only, Python >= 3.8; needs iproute2 and nftables.
See docs/agent.md in the netmirror.traffic_mirror collection.
"""

__version__ = "0.1.0"
