"""Reading the host: commands, their JSON, links, routes, offloads, the agent's
nftables table and tc filters. Nothing here changes the kernel."""

import hashlib
import json
import os
import re
import shutil
import subprocess

from . import maps
from . import state
from . import syscalls
from .config import DEVICE_PREFIX
from .errors import AgentError
from .render import FAMILY
from .render import TABLE
from .vxlan import ALIAS_PREFIX
from .vxlan import sysctl_path

PACKAGES = {"nft": "nftables", "ip": "iproute2", "tc": "iproute2", "bpftool": "bpftool"}


def run(args, check=True, input_text=None):
    """Run a command; returns CompletedProcess. Raises AgentError on failure when check."""
    try:
        proc = subprocess.run(
            args, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False
        )
    except FileNotFoundError:
        raise AgentError("%s: command not found (install %s)" % (args[0], PACKAGES.get(args[0], args[0]))) from None
    if check and proc.returncode != 0:
        raise AgentError("%s failed: %s" % (" ".join(args[:4]), (proc.stderr or proc.stdout).strip()))
    return proc


def run_json(args, check=True):
    """A command's JSON output ([] when empty; None when it failed and not check)."""
    proc = run(args, check=check)
    if proc.returncode != 0:
        return None
    out = proc.stdout.strip()
    try:
        return json.loads(out) if out else []
    except ValueError:
        return None


def links():
    """name -> link dict from ``ip -d -j link show``."""
    return {link["ifname"]: link for link in run_json(["ip", "-d", "-j", "link", "show"])}


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


ETHTOOL_GET = (("tso", 0x1E), ("gso", 0x23), ("gro", 0x2B))  # ETHTOOL_GTSO, ETHTOOL_GGSO, ETHTOOL_GGRO


def offloads(name):
    """{"tso": bool, "gso": bool, "gro": bool} of an interface (None where it cannot tell); read only."""
    result = {}
    for key, command in ETHTOOL_GET:
        try:
            result[key] = bool(syscalls.ethtool_get(name, command))
        except OSError:
            result[key] = None
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
    """The agent's nft table (table_of()), or None."""
    return table_of(table_bytecode(), links())


# The nftables part of the comparison is by behaviour: the netlink bytecode the kernel holds for the
# agent's table (``nft --debug=netlink list table``) against the bytecode nft makes of the config's
# ruleset (``nft -c --debug=netlink -f``: check mode compiles and prints what it would send, and commits
# nothing). Both are nft's own translation of rules into the kernel's expressions (payload loads, compares,
# set lookups, the ``dup`` device's ifindex, verdicts), so any change to a rule's match, verdict or copy
# target, to the rules' order, or to a set's elements shows, however nft would print it back as text.
_BYTECODE_RULE = re.compile(r"^%s %s (\S+)(?: \d+)*\s*$" % (FAMILY, TABLE))
_BYTECODE_LIST_SET = re.compile(r"^%s %s @(\S+)\s*$" % (FAMILY, TABLE))
_BYTECODE_CHECK_SET = re.compile(r"^(\S+) %s \S.*$" % TABLE)
_ANONYMOUS = re.compile(r"^__(set|map)(%d|\d+)$")
_COUNTER = re.compile(r"^\[ counter pkts (\d+) bytes (\d+) \]$")
_SET_REFERENCE = re.compile(r"\bset (\S+)")
_TEXT_CHAIN = re.compile(r"^\s*chain (\S+) \{\s*$")
_TEXT_HOOK = re.compile(r"^\s*type (\S+) hook (\S+) device \"?([^\";]+)\"? priority (\S+); policy (\S+);")


def _comment_of(userdata):
    """The rule comment in nft's printed userdata (``{ \\x00\\x06hello\\x00 }``: type, length, value)."""
    text = userdata.split("{", 1)[1].rsplit("}", 1)[0].strip()
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("latin-1"))
    index = 0
    while index + 2 <= len(raw):
        kind, length = raw[index], raw[index + 1]
        value = raw[index + 2 : index + 2 + length]
        if kind == 0:  # NFTNL_UDATA_RULE_COMMENT
            return value.rstrip(b"\0").decode("utf-8", "replace")
        index += 2 + length
    return None


_IMMEDIATE = re.compile(r"^\[ immediate reg (\d+) (0x[0-9a-f]+) \]$")
_DUP = re.compile(r"^\[ dup sreg_dev (\d+) \]$")


def parse_bytecode(text):
    """``nft --debug=netlink`` output (a listing's or a check's) as {"sets": {name: [elements]}, "chains":
    {chain: [(comment, (expression, ...))]}, "hooks": {base chain: (type, hook, device, priority, policy)},
    "rules": [{"chain", "comment", "packets", "bytes", "dup_ifindex"}], "chain_names": [...]}: in "chains"
    the counter values are dropped and anonymous sets (verdict maps) written out as their elements, so both
    forms compare equal when the kernel holds what the config says."""
    sets, chains, anonymous, pending, rules = {}, {}, {}, [], []
    block = None  # ("set", name, elements) or a rule dict

    def close():
        if block is None:
            return
        if isinstance(block, dict):
            chains.setdefault(block["chain"], []).append((block["comment"], tuple(block.pop("lines"))))
            block.pop("registers")
            rules.append(block)
            return
        name, elements = block[1], block[2]
        if _ANONYMOUS.match(name):
            if elements:
                if "%d" in name:
                    pending.append(sorted(elements))
                else:
                    anonymous[name] = sorted(elements)
        else:
            sets.setdefault(name, []).extend(elements)

    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            if line.startswith("table ") or line.startswith("}"):
                close()
                block = None
                if line.startswith("table "):
                    break  # the text listing that follows the bytecode: its chains and hooks below
                continue
            close()
            found = _BYTECODE_LIST_SET.match(line)
            if found:
                block = ("set", found.group(1), [])
                continue
            found = _BYTECODE_RULE.match(line)
            if found and not found.group(1).startswith("("):
                block = {"chain": found.group(1), "comment": None, "packets": 0, "bytes": 0, "dup_ifindex": None}
                block.update(lines=[], registers={})
                continue
            found = _BYTECODE_CHECK_SET.match(line)
            block = ("set", found.group(1), []) if found and found.group(1) != FAMILY else None
            continue
        if block is None:
            continue
        stripped = line.strip()
        if not isinstance(block, dict):
            block[2].extend(" ".join(part.split()) for part in stripped.split("element ") if part.strip())
            continue
        if stripped.startswith("userdata = "):
            block["comment"] = _comment_of(stripped)
            continue
        found = _COUNTER.match(stripped)
        if found:
            block["packets"], block["bytes"] = int(found.group(1)), int(found.group(2))
            stripped = "[ counter ]"
        found = _IMMEDIATE.match(stripped)
        if found:
            block["registers"][found.group(1)] = int(found.group(2), 16)
        found = _DUP.match(stripped)
        if found:
            block["dup_ifindex"] = block["registers"].get(found.group(1))
        if stripped.startswith("[ lookup "):
            stripped = stripped.replace(" 0x0 ]", " ]")
            for name in _SET_REFERENCE.findall(stripped):
                if _ANONYMOUS.match(name):
                    elements = anonymous.get(name) if "%d" not in name else (pending.pop(0) if pending else None)
                    stripped = stripped.replace("set %s" % name, "set {%s}" % ", ".join(elements or []), 1)
        block["lines"].append(stripped)
    close()
    hooks, chain, names = {}, None, []
    for line in text.splitlines():
        found = _TEXT_CHAIN.match(line)
        if found:
            chain = found.group(1)
            names.append(chain)
            continue
        found = _TEXT_HOOK.match(line)
        if found and chain:
            kind, hook, device, priority, policy = found.groups()
            hooks[chain] = (kind, hook, device, "0" if priority == "filter" else priority, policy)
    return {
        "sets": {name: sorted(elements) for name, elements in sets.items()},
        "chains": chains,
        "hooks": hooks,
        "rules": rules,
        "chain_names": names,
    }


def table_of(code, all_links):
    """The table as the diff and status read it, from table_bytecode(): {"chains": {name: [rule dict]},
    "rules": [rule dict]}, each rule with its comment, counter and the name of the device it copies to."""
    if code is None:
        return None
    names = {link.get("ifindex"): name for name, link in all_links.items()}
    chains = {name: [] for name in code["chain_names"]}
    rules = []
    for rule in code["rules"]:
        index = rule["dup_ifindex"]
        entry = {"chain": rule["chain"], "comment": rule["comment"], "packets": rule["packets"]}
        entry.update(bytes=rule["bytes"], dup=None if index is None else names.get(index, "#%d" % index))
        chains.setdefault(rule["chain"], []).append(entry)
        rules.append(entry)
    return {"chains": chains, "rules": rules}


def table_bytecode():
    """The agent's table as the kernel holds it (parse_bytecode()), or None when there is none."""
    proc = run(["nft", "--debug=netlink", "list", "table", FAMILY, TABLE], check=False)
    if proc.returncode != 0:
        if "No such file or directory" in proc.stderr:
            return None
        raise AgentError("nft list table failed: %s" % proc.stderr.strip())
    return parse_bytecode(proc.stdout)


_expected = {}
EXPECTED_FILE = "nft-expected.json"  # state.clear_state() removes it too


def _nft_identity():
    """Which nft compiles (another version may print another bytecode): its path, size and mtime."""
    path = shutil.which("nft")
    try:
        info = os.stat(path) if path else None
    except OSError:
        info = None
    return [path, info.st_size, info.st_mtime_ns] if info else [path]


def _load_expected(key):
    try:
        with open(os.path.join(state.state_dir(), EXPECTED_FILE)) as handle:
            saved = json.load(handle)
    except (OSError, ValueError):
        return None
    if saved.get("key") != key:
        return None
    code = saved["code"]
    return {
        "sets": code["sets"],
        "chains": {
            chain: [(comment, tuple(lines)) for comment, lines in rules] for chain, rules in code["chains"].items()
        },
        "hooks": {chain: tuple(hook) for chain, hook in code["hooks"].items()},
    }


def _save_expected(key, code):
    directory = state.state_dir()
    try:
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, EXPECTED_FILE + ".tmp")
        with open(tmp, "w") as handle:
            json.dump({"key": key, "code": {k: code[k] for k in ("sets", "chains", "hooks")}}, handle)
        os.replace(tmp, os.path.join(directory, EXPECTED_FILE))
    except OSError:
        pass  # only a cache


def expected_bytecode(script, devices, store=False):
    """(parse_bytecode() of what nft makes of ``script``, None) or (None, why it cannot say). ``devices``:
    (name, ifindex) of the devices the rules copy to (a ``dup`` holds the ifindex). A pure function of the
    script, the ifindexes and nft: cached in the process (a service compiles its unchanged config once, not
    at every poll) and, with ``store`` (apply, under the agent's lock), in the state directory, where
    ``status`` and the next ``apply`` of the same config find it (compiling 100 interfaces' rules takes
    about as long as applying them)."""
    key = [hashlib.sha256(script.encode("utf-8")).hexdigest(), sorted(list(d) for d in devices), _nft_identity()]
    cache_key = json.dumps(key)
    if cache_key not in _expected:
        code = _load_expected(key)
        if code is None:
            proc = run(["nft", "-c", "--debug=netlink", "-f", "-"], check=False, input_text=script)
            if proc.returncode != 0:
                return None, (proc.stderr.strip().splitlines() or ["nft -c failed"])[0]
            code = parse_bytecode(proc.stdout)
            if store:
                _save_expected(key, code)
        _expected.clear()
        _expected[cache_key] = code
    return _expected[cache_key], None


def bpf_filters(device, direction):
    """[(pref, handle, program name, program id, tag)] of the cls_bpf filters on a device's ingress/egress."""
    return _bpf_entries(run_json(["tc", "-j", "filter", "show", "dev", device, direction], check=False) or [])


def bpf_filters_of(pairs):
    """{(device, direction): bpf_filters(device, direction)} for many pairs with one ``tc -j -b -`` batch
    (a ``tc`` process per pair made most of the time of status and re-apply at 100 interfaces). When the
    batch fails (a device went away meanwhile), one call per pair."""
    pairs = list(pairs)
    if not pairs:
        return {}
    script = "".join("filter show dev %s %s\n" % pair for pair in pairs)
    proc = run(["tc", "-j", "-b", "-"], check=False, input_text=script)
    outputs = json_documents(proc.stdout) if proc.returncode == 0 else None
    if outputs is None or len(outputs) != len(pairs):
        return {pair: bpf_filters(*pair) for pair in pairs}
    return {pair: _bpf_entries(data or []) for pair, data in zip(pairs, outputs)}


def json_documents(text):
    """The JSON values printed one after another (tc -j -b prints one per command); None if unreadable."""
    decoder, found, index = json.JSONDecoder(), [], 0
    try:
        while True:
            while index < len(text) and text[index].isspace():
                index += 1
            if index == len(text):
                return found
            value, index = decoder.raw_decode(text, index)
            found.append(value)
    except ValueError:
        return None


def _bpf_entries(data):
    result = []
    for item in data:
        options = item.get("options") or {}
        if item.get("kind") != "bpf" or not options:
            continue
        prog = options.get("prog") or {}
        # iproute2 < 5.16 (Debian 11's 5.9) prints no program name, and its bpf_name is the pinned
        # file's ("tma_trunc_1464_3695:[*fsobj]"): ask the kernel by the program's id
        name = prog.get("name") or (prog.get("id") and maps.program_name(prog["id"])) or options.get("bpf_name")
        result.append((item.get("pref"), options.get("handle"), name, prog.get("id"), prog.get("tag")))
    return result


def truncation_of(device, filters=None):
    """Program name of the agent's bpf filter on the device's egress, or None; ``filters``: the
    device's egress bpf_filters() when already read."""
    found = truncation_info(device, filters)
    return found[0] if found else None


def truncation_info(device, filters=None):
    """(name, tag, program id) of the bpf filter on the device's egress, or None."""
    for _pref, _handle, name, prog_id, tag in bpf_filters(device, "egress") if filters is None else filters:
        if name:
            return (name, tag or (prog_id and maps.program_tag(prog_id)), prog_id)
    return None


def ipv6_disabled(device):
    """True/False, or None when the device has no IPv6 sysctl (IPv6 off in the kernel)."""
    try:
        with open(sysctl_path(device)) as handle:
            return handle.read().strip() == "1"
    except OSError:
        return None


def snapshot():
    """What the diff needs of the kernel, read once: the table, the links, and per
    agent device its truncation program and IPv6 setting."""
    all_links = links()
    ours = agent_links(all_links)
    egress = bpf_filters_of((name, "egress") for name in sorted(ours))
    code = table_bytecode()  # one listing: what the diff compares, and the counters status reports
    return {
        "table": table_of(code, all_links),
        "nft_code": code,
        "links": all_links,
        "ours": ours,
        "truncation": {name: truncation_info(name, egress[(name, "egress")]) for name in ours},
        "ipv6_disabled": {name: ipv6_disabled(name) for name in ours},
    }
