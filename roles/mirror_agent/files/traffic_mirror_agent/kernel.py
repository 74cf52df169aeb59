"""Kernel side: read the host, apply a Plan atomically, compare, remove.

All changes go through ``ip``, ``tc``, ``nft`` and sysctl files; the nftables
part is one ``nft -f`` transaction (all or nothing). Devices are created before
the transaction (nothing sends to them until it commits) and deleted after it,
so a failure at any step leaves the previous mirroring in place.
"""

import contextlib
import ctypes
import fcntl
import ipaddress
import json
import os
import shutil
import socket
import struct
import subprocess

from . import bpf
from .config import DEVICE_PREFIX
from .render import ALIAS_PREFIX
from .render import FAMILY
from .render import TABLE
from .render import build_plan

STATE_DIR_ENV = "TMA_STATE_DIR"
DEFAULT_STATE_DIR = "/run/traffic_mirror_agent"


class AgentError(Exception):
    """A problem applying to or reading the kernel; the message is for people."""


def state_dir():
    return os.environ.get(STATE_DIR_ENV, DEFAULT_STATE_DIR)


@contextlib.contextmanager
def exclusive():
    """One agent at a time changes the kernel: a lock file in the state directory."""
    directory = state_dir()
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args, check=True, input_text=None):
    """Run a command; returns CompletedProcess. Raises AgentError on failure when check."""
    try:
        proc = subprocess.run(
            args, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
        )
    except FileNotFoundError:
        raise AgentError(
            "%s: command not found (install %s)"
            % (args[0], {"nft": "nftables", "ip": "iproute2", "tc": "iproute2"}.get(args[0], args[0]))
        ) from None
    if check and proc.returncode != 0:
        raise AgentError("%s failed: %s" % (" ".join(args[:4]), (proc.stderr or proc.stdout).strip()))
    return proc


def _json(args):
    out = run(args).stdout.strip()
    return json.loads(out) if out else []


# ------------------------------------------------------------------ reading


def links():
    """name -> link dict from ``ip -d -j link show``."""
    return {link["ifname"]: link for link in _json(["ip", "-d", "-j", "link", "show"])}


def agent_links(all_links=None):
    """The vxlan devices the agent created (prefix + alias marker)."""
    all_links = links() if all_links is None else all_links
    return {
        name: link
        for name, link in all_links.items()
        if name.startswith(DEVICE_PREFIX)
        and link.get("linkinfo", {}).get("info_kind") == "vxlan"
        and str(link.get("ifalias", "")).startswith(ALIAS_PREFIX)
    }


SIOCETHTOOL = 0x8946
ETHTOOL_GET = (("tso", 0x1E), ("gso", 0x23), ("gro", 0x2B))  # ETHTOOL_GTSO, ETHTOOL_GGSO, ETHTOOL_GGRO


def offloads(name):
    """{"tso": bool, "gso": bool, "gro": bool} of an interface (None where it cannot tell); read only."""
    result = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for key, command in ETHTOOL_GET:
            value = ctypes.create_string_buffer(struct.pack("II", command, 0), 8)
            request = struct.pack("16sP", name.encode("utf-8")[:15], ctypes.addressof(value)).ljust(40, b"\0")
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
            except OSError:
                result[key] = None
                continue
            result[key] = bool(struct.unpack("II", value.raw)[1])
    finally:
        sock.close()
    return result


def offload_warnings(config, present=None):
    """Warnings for mirrored interfaces whose segmentation offloads are on: the
    kernel then handles super-packets, and each is mirrored as one copy."""
    warnings = []
    for interface in config.interfaces():
        if present is not None and interface not in present:
            continue
        on = [key for key, value in sorted(offloads(interface).items()) if value]
        if on:
            warnings.append(
                "%s: %s on: the kernel mirrors one copy per super-packet, not per wire packet; "
                "for AWS's per-packet copies: ethtool -K %s tso off gso off gro off"
                % (interface, "/".join(on), interface)
            )
    return warnings


def route_mtu(address):
    """MTU towards ``address`` (route MTU or the output device's); raises AgentError when unreachable."""
    proc = run(["ip", "-j", "route", "get", str(address)], check=False)
    if proc.returncode != 0:
        raise AgentError("target %s is unreachable: %s" % (address, proc.stderr.strip() or "no route"))
    routes = json.loads(proc.stdout or "[]")
    if not routes:
        raise AgentError("target %s is unreachable: no route" % address)
    route = routes[0]
    if route.get("type") in ("unreachable", "prohibit", "blackhole"):
        raise AgentError("target %s is unreachable: route type %s" % (address, route["type"]))
    for metric in route.get("metrics", []) or []:
        if isinstance(metric, dict) and "mtu" in metric:
            return int(metric["mtu"])
    dev = route.get("dev")
    if dev == "lo":
        raise AgentError("target %s is a local address of this host (copies would never leave it)" % address)
    link = links().get(dev)
    return int(link["mtu"]) if link else None


def host_mtus(config, strict=True):
    """target address -> underlay MTU; with strict, unreachable targets raise."""
    result = {}
    for address in sorted({s.target.address for s in config.sessions}, key=str):
        try:
            result[address] = route_mtu(address)
        except AgentError:
            if strict:
                raise
    return result


def check_host(config, present_links=None):
    """Checks that need the host: interfaces exist and are not the agent's; targets reachable."""
    present_links = links() if present_links is None else present_links
    for session in config.sessions:
        link = present_links.get(session.network_interface)
        if link is None:
            raise AgentError(
                "session %r: network_interface: %s does not exist on this host"
                % (session.name, session.network_interface)
            )
        if session.network_interface in agent_links(present_links):
            raise AgentError(
                "session %r: network_interface: %s is one of the agent's vxlan devices"
                % (session.name, session.network_interface)
            )
    mtus = {}
    for session in config.sessions:
        if session.target.address not in mtus:
            try:
                mtus[session.target.address] = route_mtu(session.target.address)
            except AgentError as exc:
                raise AgentError("session %r: target.address: %s" % (session.name, exc)) from None
    return mtus


def read_table():
    """The agent's nft table as {"chains": {name: [rule dict]}, "rules": [...] } or None."""
    proc = run(["nft", "-j", "list", "table", FAMILY, TABLE], check=False)
    if proc.returncode != 0:
        if "No such file or directory" in proc.stderr:
            return None
        raise AgentError("nft list table failed: %s" % proc.stderr.strip())
    data = json.loads(proc.stdout)
    chains = {}
    rules = []
    for item in data.get("nftables", []):
        if "chain" in item:
            chains.setdefault(item["chain"]["name"], [])
        elif "rule" in item:
            rule = item["rule"]
            entry = {"chain": rule["chain"], "comment": rule.get("comment"), "packets": 0, "bytes": 0, "dup": None}
            for expr in rule.get("expr", []):
                if "counter" in expr and isinstance(expr["counter"], dict):
                    entry["packets"] = expr["counter"].get("packets", 0)
                    entry["bytes"] = expr["counter"].get("bytes", 0)
                elif "dup" in expr:
                    entry["dup"] = expr["dup"].get("addr") or expr["dup"].get("dev")
            chains.setdefault(rule["chain"], []).append(entry)
            rules.append(entry)
    return {"chains": chains, "rules": rules}


def truncation_of(device):
    """Program name of the agent's bpf filter on the device's egress, or None."""
    proc = run(["tc", "-j", "filter", "show", "dev", device, "egress"], check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return None
    for item in data:
        options = item.get("options") or {}
        if item.get("kind") == "bpf":
            prog = options.get("prog") or {}
            name = prog.get("name") or options.get("bpf_name")
            if name:
                return name
    return None


def _sysctl_path(device):
    return "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % device


def compare(plan, table=None, all_links=None):
    """Differences between the kernel and ``plan``; [] means the kernel matches."""
    problems = []
    table = read_table() if table is None else table
    all_links = links() if all_links is None else all_links
    ours = agent_links(all_links)
    if table is None:
        if plan.config.sessions:
            problems.append("nftables table %s %s is missing" % (FAMILY, TABLE))
    else:
        for chain, comments in sorted(plan.chains.items()):
            have = table["chains"].get(chain)
            if have is None:
                problems.append("chain %s is missing" % chain)
                continue
            if [r["comment"] for r in have] != comments:
                problems.append("chain %s differs from the config" % chain)
                continue
            for entry in have:
                ref = plan.refs.get(entry["comment"])
                if entry["dup"] is not None and ref is not None:
                    expected = plan.session_devices.get(ref.session)
                    if entry["dup"] != expected:
                        problems.append("rule %s copies to %s, not to %s" % (entry["comment"], entry["dup"], expected))
        extra = sorted(set(table["chains"]) - set(plan.chains))
        if extra:
            problems.append("unexpected chain(s) %s" % ", ".join(extra))
    for name, device in sorted(plan.devices.items()):
        link = ours.get(name)
        if link is None:
            problems.append("vxlan device %s (%s) is missing" % (name, device.alias))
            continue
        data = link.get("linkinfo", {}).get("info_data", {})
        if (
            data.get("id") != device.vni
            or str(data.get("remote", data.get("remote6", ""))) != str(device.address)
            or data.get("port") != device.port
        ):
            problems.append("vxlan device %s has other parameters than %s" % (name, device.alias))
        elif str(link.get("ifalias", "")) != device.alias:
            problems.append("vxlan device %s is not set up as %s" % (name, device.alias))
        if "UP" not in link.get("flags", []):
            problems.append("vxlan device %s is down" % name)
        try:
            with open(_sysctl_path(name)) as handle:
                if handle.read().strip() != "1":
                    problems.append("vxlan device %s has IPv6 enabled" % name)
        except OSError:
            pass
        if device.copy_length and truncation_of(name) != bpf.program_name(device.copy_length):
            problems.append("vxlan device %s lacks its truncation program (%d bytes)" % (name, device.copy_length))
    for name in sorted(set(ours) - set(plan.devices)):
        problems.append("vxlan device %s is not in the config" % name)
    return problems


# ------------------------------------------------------------------ features


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
        proc = run(["nft", "-c", "-f", "-"], check=False, input_text=script)
        if proc.returncode != 0:
            missing.append(name)
    return missing


def _feature_error(exc, what):
    missing = missing_features()
    if missing:
        return AgentError("this host lacks %s (%s)" % ("; ".join(missing), what))
    return AgentError("%s: %s" % (what, exc))


# ------------------------------------------------------------------ applying


def _create_device(device):
    proc = run(["ip"] + device.create_args(), check=False)
    if proc.returncode != 0:
        if "Unknown device type" in proc.stderr or "not supported" in proc.stderr.lower():
            raise AgentError("this host lacks the vxlan driver (CONFIG_VXLAN): %s" % proc.stderr.strip())
        raise AgentError("creating vxlan device %s (%s) failed: %s" % (device.name, device.alias, proc.stderr.strip()))
    try:
        run(["ip", "link", "set", "dev", device.name, "alias", device.alias])
        path = _sysctl_path(device.name)
        if os.path.exists(path):
            with open(path, "w") as handle:
                handle.write("1\n")
        run(["ip", "link", "set", "dev", device.name, "arp", "off", "up"])
        if device.copy_length:
            attach_truncation(device.name, device.copy_length)
    except Exception:
        run(["ip", "link", "del", device.name], check=False)
        raise


def attach_truncation(name, length):
    run(["tc", "qdisc", "replace", "dev", name, "clsact"])
    try:
        with bpf.pinned_truncation(length) as path:
            proc = run(
                [
                    "tc",
                    "filter",
                    "replace",
                    "dev",
                    name,
                    "egress",
                    "pref",
                    "1",
                    "handle",
                    "1",
                    "bpf",
                    "da",
                    "object-pinned",
                    path,
                ],
                check=False,
            )
    except OSError as exc:
        raise AgentError(
            "this host cannot truncate copies: %s "
            "(needs eBPF: the bpf() system call, BPF_PROG_TYPE_SCHED_CLS and bpf_skb_change_tail)" % exc
        ) from None
    if proc.returncode != 0:
        raise AgentError(
            "this host cannot truncate copies: tc bpf filter (cls_bpf, CONFIG_NET_CLS_BPF, and clsact) failed: %s"
            % proc.stderr.strip()
        )


def _remote_of(link):
    data = link.get("linkinfo", {}).get("info_data", {})
    return str(data.get("remote", data.get("remote6", "")))


def _update_device(device, link, undo):
    """Bring an existing agent device in line with ``device`` in place; record how to undo."""
    name = device.name
    remote = _remote_of(link)
    if remote != str(device.address):
        run(["ip", "link", "set", "dev", name, "type", "vxlan", "remote", str(device.address)])
        undo.append(["ip", "link", "set", "dev", name, "type", "vxlan", "remote", remote])
    alias = str(link.get("ifalias", ""))
    if alias != device.alias:
        run(["ip", "link", "set", "dev", name, "alias", device.alias])
        undo.append(["ip", "link", "set", "dev", name, "alias", alias])
    path = _sysctl_path(name)
    if os.path.exists(path):
        with open(path, "w") as handle:
            handle.write("1\n")
    if "UP" not in link.get("flags", []) or "NOARP" not in link.get("flags", []):
        run(["ip", "link", "set", "dev", name, "arp", "off", "up"])
    current = truncation_of(name)
    wanted = bpf.program_name(device.copy_length) if device.copy_length else None
    if current != wanted:
        if wanted:
            attach_truncation(name, device.copy_length)
        else:
            run(["tc", "filter", "del", "dev", name, "egress"], check=False)
        if current and current.startswith(bpf.PROG_NAME_PREFIX):
            undo.append(("truncate", name, int(current[len(bpf.PROG_NAME_PREFIX) :])))
        else:
            undo.append(["tc", "filter", "del", "dev", name, "egress"])


def _undo(steps):
    for step in reversed(steps):
        if isinstance(step, tuple) and step[0] == "truncate":
            try:
                attach_truncation(step[1], step[2])
            except AgentError:
                pass
        else:
            run(step, check=False)


def apply_plan(plan):
    """Make the kernel match ``plan``. Returns the differences it fixed ([] = nothing changed).

    Order: create or update the vxlan devices (nothing is copied to a new
    device before the transaction), replace the nftables table in one
    transaction, then delete devices no longer used. Any failure before the
    transaction commits undoes the device steps, so the previous mirroring
    stays as it was.
    """
    before = links()
    ours = agent_links(before)
    table = read_table()
    problems = compare(plan, table, before)
    if not problems:
        return []
    undo = []
    try:
        for name, device in sorted(plan.devices.items()):
            if name in ours:
                _update_device(device, ours[name], undo)
                continue
            if name in before:
                raise AgentError("a device named %s exists and is not the agent's; refusing to touch it" % name)
            _create_device(device)
            undo.append(["ip", "link", "del", name])
        if plan.config.sessions:
            table_ok = table is not None and not [
                p for p in compare(plan, table, links()) if not p.startswith("vxlan device")
            ]
            if not table_ok:
                proc = run(["nft", "-f", "-"], check=False, input_text=plan.nft_script())
                if proc.returncode != 0:
                    raise _feature_error(proc.stderr.strip(), "nft rejected the ruleset")
        elif table is not None:
            run(["nft", "delete", "table", FAMILY, TABLE])
    except Exception:
        _undo(undo)
        raise
    for name in sorted(set(ours) - set(plan.devices)):
        run(["ip", "link", "del", name], check=False)
    return problems


def remove_all():
    """Remove every kernel object the agent created, nothing else. Returns True when something was removed."""
    changed = False
    if read_table() is not None:
        run(["nft", "delete", "table", FAMILY, TABLE])
        changed = True
    for name in sorted(agent_links()):
        run(["ip", "link", "del", name], check=False)
        changed = True
    return changed


# ------------------------------------------------------------------ state file


def save_state(config):
    directory = state_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "applied.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(config.to_dict(), handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def load_state():
    path = os.path.join(state_dir(), "applied.json")
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def clear_state():
    path = os.path.join(state_dir(), "applied.json")
    try:
        os.unlink(path)
    except OSError:
        pass


def plan_for(config, strict=True):
    """Plan for ``config`` on this host (with the underlay MTU caps)."""
    return build_plan(config, host_mtus(config, strict=strict))


def ip_address(text):
    return ipaddress.ip_address(text)
