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


def in_child(function, *args):
    """``function(*args)`` in a forked child, so that what it changes (a network namespace it unshares) ends
    with it: (its result, None), its result sent back as JSON; or (None, why it gave none)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        try:
            reply = {"result": function(*args)}
        except BaseException as exc:  # report anything to the parent
            reply = {"error": str(exc) or type(exc).__name__}
        try:
            os.write(write_end, json.dumps(reply).encode("utf-8"))
        finally:
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
        reply = json.loads(b"".join(chunks).decode("utf-8"))
    except ValueError:
        return None, "it did not report"
    return reply.get("result"), reply.get("error")


def missing_features(datapath="auto"):
    """Descriptions of what this host lacks for the agent with the config's ``datapath`` ([] = nothing)."""
    result, error = in_child(_probe_here, datapath)  # its own network namespace, gone when it exits
    if error == "it did not report":
        return ["the feature checks did not report"]
    if error is not None:
        return ["the feature checks failed: %s" % error]
    return result
