"""Status: per session and rule, packets and bytes mirrored, and drift from the config."""

from . import compiler
from . import datapath
from . import diff
from . import ebpf_path
from . import host
from . import maps
from . import snapshot as kernel_snapshot
from .render import build_plan
from .render import chain_key

# The ingress hook sees packets after the Ethernet header was pulled; report
# frame bytes (from the Ethernet header, as copied) in both directions.
ETHERNET_HEADER = 14


def report(config):
    """A dict describing the kernel state against ``config`` (None = nothing applied)."""
    snapshot = kernel_snapshot.read()
    table = snapshot["table"]
    all_links = snapshot["links"]
    anything = table is not None or bool(snapshot["ours"]) or bool(snapshot["programs"])
    result = {"applied": anything, "sessions": [], "excluded": {}, "interfaces": {}}
    result["config_recorded"] = config is not None
    if config is None:
        result["matches"] = not anything
        result["problems"] = [] if result["matches"] else ["agent objects exist but no applied config is recorded"]
        result["warnings"] = []
        return result
    present = {s.network_interface for s in config.sessions if s.network_interface in all_links}
    effective = config.only_interfaces(present)
    plan = build_plan(effective, host.host_mtus(config, strict=False), datapath.resolve(effective))
    refs = dict(plan.refs)
    refs.update(compiler.plan_refs(plan))
    kernel_snapshot.expect(snapshot, plan)
    problems = diff.compare(plan, snapshot)
    for session in config.sessions:
        if session.network_interface not in present:
            problems.append(
                "session %r: interface %s is absent (not mirrored until it appears)"
                % (session.name, session.network_interface)
            )
    result["problems"] = problems
    result["matches"] = not problems
    result["warnings"] = host.offload_warnings(config, present)
    untruncatable, by_program = untruncatable_copies(snapshot)
    result["untruncatable"] = sum(by_program.values())
    counters = {}
    if table is not None:
        for entry in table["rules"]:
            if entry["comment"]:
                total = counters.setdefault(entry["comment"], {"packets": 0, "bytes": 0})
                total["packets"] += entry["packets"]
                total["bytes"] += entry["bytes"]
                if entry["comment"].startswith("tma|x|"):
                    what = entry["comment"].split("|", 2)[2].split(" ")[0]
                    result["excluded"][what] = result["excluded"].get(what, 0) + entry["packets"]
    # nftables counts ingress bytes from the network header; eBPF counts frames
    frame_counters = ebpf_counters(plan, snapshot, result["excluded"])
    for interface in config.interfaces():
        result["interfaces"][interface] = {
            "datapath": datapath_in_use(interface, snapshot),
            "configured": config.datapath,
        }
    for session in config.sessions:
        device = plan.devices.get(plan.session_devices.get(session.name))
        item = {
            "name": session.name,
            "network_interface": session.network_interface,
            "session_number": session.session_number,
            "virtual_network_id": session.virtual_network_id,
            "target": session.target.to_dict(),
            "device": device.name if device else None,
            "copy_length": device.copy_length if device else None,
            "copy_limit": device.copy_limit if device else None,
            # copies dropped because they could not be trimmed to copy_limit (the count of the device's
            # truncation program, which devices of the same copy length and limit share)
            "untruncatable": untruncatable.get(device.name, 0) if device else 0,
            "packets": 0,
            "bytes": 0,
            "rules": [],
        }
        rules = {}
        for comment, ref in refs.items():
            if ref.session != session.name:
                continue
            entry = counters.get(comment, {"packets": 0, "bytes": 0})
            packets = entry["packets"]
            frame_bytes = entry["bytes"] + (ETHERNET_HEADER * packets if ref.direction == "ingress" else 0)
            extra = frame_counters.get(comment, (0, 0))
            packets += extra[0]
            frame_bytes += extra[1]
            rule = rules.setdefault(
                (ref.direction, ref.rule),
                {
                    "direction": ref.direction,
                    "rule_number": ref.rule,
                    "rule_action": ref.action,
                    "packets": 0,
                    "bytes": 0,
                },
            )
            rule["packets"] += packets
            rule["bytes"] += frame_bytes
            if ref.action == "accept":
                item["packets"] += packets
                item["bytes"] += frame_bytes
        order = {"ingress": 0, "egress": 1}
        item["rules"] = sorted(
            rules.values(),
            key=lambda r: (
                order[r["direction"]],
                isinstance(r["rule_number"], int),
                r["rule_number"] if isinstance(r["rule_number"], int) else 0,
            ),
        )
        result["sessions"].append(item)
    return result


def untruncatable_copies(snapshot):
    """({vxlan device: copies}, {program id: copies}) its truncation program dropped because it could not
    trim them to the limit (devices of one copy length and limit share a program and its count)."""
    result, by_program = {}, {}
    for name, found in sorted(snapshot["truncation"].items()):
        if found and found[2]:
            if found[2] not in by_program:
                try:
                    slots = maps.read_counters(found[2])
                except OSError:
                    slots = []
                by_program[found[2]] = slots[0][0] if slots else 0
            result[name] = by_program[found[2]]
    return result, by_program


def datapath_in_use(interface, snapshot):
    """ "ebpf", "nftables" or None: what mirrors ``interface`` now."""
    if snapshot["programs"].get(interface):
        return "ebpf"
    table = snapshot["table"]
    if table is not None and "in_%s" % chain_key(interface) in table["chains"]:
        return "nftables"
    return None


def ebpf_counters(plan, snapshot, excluded):
    """comment -> (packets, frame bytes) of the attached eBPF programs; adds their exclusions to ``excluded``."""
    result = {}
    for interface in plan.interfaces_on("ebpf"):
        for direction, (_name, prog_id, _tag) in sorted(snapshot["programs"].get(interface, {}).items()):
            slots = compiler.program_for(plan, interface, direction).slots
            for comment, (packets, frame_bytes) in zip(slots, ebpf_path.counters(interface, direction, prog_id)):
                if comment.startswith("tma|x|"):
                    what = comment.split("|", 2)[2]
                    excluded[what] = excluded.get(what, 0) + packets
                    continue
                have = result.get(comment, (0, 0))
                result[comment] = (have[0] + packets, have[1] + frame_bytes)
    return result


def format_text(data):
    lines = []
    if not data.get("config_recorded", True):
        # say so: "matches" would read as if a config had been applied
        lines.append("no config applied (none recorded in the state directory)")
    lines.append("kernel matches config: %s" % ("yes" if data["matches"] else "NO"))
    for problem in data.get("problems", []):
        lines.append("  problem: %s" % problem)
    for warning in data.get("warnings", []):
        lines.append("  warning: %s" % warning)
    for interface, info in sorted(data.get("interfaces", {}).items()):
        lines.append(
            "interface %s: data path %s (config: %s)" % (interface, info["datapath"] or "none", info["configured"])
        )
    for session in data["sessions"]:
        lines.append(
            "session %s on %s #%d vni %d -> %s:%d via %s (copy length %s): %d packets, %d bytes mirrored"
            % (
                session["name"],
                session["network_interface"],
                session["session_number"],
                session["virtual_network_id"],
                session["target"]["address"],
                session["target"]["port"],
                session["device"],
                session["copy_length"] or "full",
                session["packets"],
                session["bytes"],
            )
        )
        for rule in session["rules"]:
            lines.append(
                "  %-7s rule %-10s %-6s %d packets, %d bytes"
                % (rule["direction"], rule["rule_number"], rule["rule_action"], rule["packets"], rule["bytes"])
            )
    if data.get("untruncatable"):
        lines.append("copies dropped, not truncatable to their limit (never sent whole): %d" % data["untruncatable"])
    if data.get("excluded"):
        lines.append(
            "not mirrored (packets by reason): %s" % ", ".join("%s=%d" % kv for kv in sorted(data["excluded"].items()))
        )
    return "\n".join(lines)
