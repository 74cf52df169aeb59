"""Which kernel features the nftables data path needs that this host lacks (``nft -c``, changes nothing)."""

import shutil

from . import host
from .errors import AgentError

FEATURE_PROBES = (
    (
        "nftables netdev family, ingress hook (nf_tables, CONFIG_NF_TABLES_NETDEV)",
        'chain c {\n type filter hook ingress device "lo" priority 0;\n}',
    ),
    (
        "nftables netdev egress hook (CONFIG_NETFILTER_EGRESS, Linux >= 5.16)",
        'chain c {\n type filter hook egress device "lo" priority 0;\n}',
    ),
    (
        "nftables dup to device (nft_dup_netdev, CONFIG_NF_DUP_NETDEV)",
        'chain c {\n type filter hook ingress device "lo" priority 0;\n meta protocol ip dup to "lo"\n}',
    ),
    (
        "nftables raw payload and transport header matching (nft_payload)",
        "chain c {\n meta l4proto 6 th dport 1-2 @th,136,8 17 counter return\n}",
    ),
)


def missing_features():
    """Names of the kernel features the agent needs that this host lacks."""
    missing = []
    if shutil.which("nft") is None:
        return ["nft command (package nftables)"]
    for name, chain in FEATURE_PROBES:
        script = "table netdev tma_feature_probe {\n%s\n}\n" % chain
        proc = host.run(["nft", "-c", "-f", "-"], check=False, input_text=script)
        if proc.returncode != 0:
            missing.append(name)
    return missing


def feature_error(exc, what):
    missing = missing_features()
    if missing:
        return AgentError("this host lacks %s (%s)" % ("; ".join(missing), what))
    return AgentError("%s: %s" % (what, exc))
