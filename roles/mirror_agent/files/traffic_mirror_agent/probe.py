"""Feature check without touching the host: try everything the agent needs in a
throw-away network namespace (a forked child that unshares one), then report
what failed.

Tried there: the data path the config asks for (``datapath``: eBPF, the data
path program's kind being loaded; nftables, its netdev ingress and egress hooks,
``dup to`` a device and transport-header/raw payload matches with ``nft -c``;
auto, eBPF and, when the kernel refuses it, nftables); creating a vxlan device;
a clsact qdisc with the cls_bpf truncation program (the bpf() system call,
the verifier accepting bpf_skb_change_tail, pinning in a bpf filesystem).
"""

import json
import os

from . import apply
from . import datapath as datapaths
from . import features
from . import host
from . import syscalls
from .errors import AgentError


def _data_path_missing(datapath):
    """What the data path ``datapath`` (auto, ebpf, nftables) lacks on this kernel."""
    if datapath in ("auto", "ebpf"):
        problem = datapaths.ebpf_problem()
        if problem is None:
            return []  # eBPF mirrors both directions: the nftables hooks are not needed
        if datapath == "ebpf":
            return ["the eBPF data path (the kernel refused its program: %s)" % problem]
    return features.missing_features()


def _probe_here(datapath):
    err = syscalls.unshare_netns()
    if err:
        return ["a private network namespace for the checks (unshare: %s; run as root)" % err]
    missing = _data_path_missing(datapath)
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


def missing_features(datapath="auto"):
    """Descriptions of what this host lacks for the agent with the config's ``datapath`` ([] = nothing)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: its own network namespace, gone when it exits
        os.close(read_end)
        try:
            result = _probe_here(datapath)
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
