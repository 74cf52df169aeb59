"""Feature check without touching the host: try everything the agent needs in a
throw-away network namespace (a forked child that unshares one), then report
what failed.

Tried there: nftables netdev ingress and egress hooks, ``dup to`` a device and
transport-header/raw payload matches (``nft -c``); creating a vxlan device;
a clsact qdisc with the cls_bpf truncation program (the bpf() system call,
the verifier accepting bpf_skb_change_tail, pinning in a bpf filesystem).
"""

import json
import os

from . import apply
from . import features
from . import host
from . import syscalls
from .errors import AgentError


def _probe_here():
    err = syscalls.unshare_netns()
    if err:
        return ["a private network namespace for the checks (unshare: %s; run as root)" % err]
    missing = features.missing_features()
    proc = host.run(
        ["ip", "link", "add", "tmaprobe", "type", "vxlan", "id", "1", "remote", "198.18.0.1", "dstport", "4789"],
        check=False,
    )
    if proc.returncode != 0:
        missing.append("the vxlan driver (CONFIG_VXLAN): %s" % proc.stderr.strip())
        return missing
    try:
        host.run(["ip", "link", "set", "dev", "tmaprobe", "up"])
        apply.attach_truncation("tmaprobe", 64)
    except AgentError as exc:
        missing.append(str(exc))
    return missing


def missing_features():
    """Descriptions of what this host lacks for the agent ([] = nothing)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: its own network namespace, gone when it exits
        os.close(read_end)
        try:
            result = _probe_here()
        except Exception as exc:  # report anything to the parent
            result = ["the feature checks failed: %s" % exc]
        os.write(write_end, json.dumps(result).encode("utf-8"))
        os._exit(0)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks).decode("utf-8") or '["the feature checks did not report"]')
    except ValueError:
        return ["the feature checks did not report"]
