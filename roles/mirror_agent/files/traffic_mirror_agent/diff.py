"""The differences between a Plan and a snapshot of the kernel (host.snapshot()): pure."""

from . import ebpf_path
from .bpf import program_name
from .render import FAMILY
from .render import TABLE


def _compare_table(plan, table):
    problems = []
    if table is None:
        if plan.chains:
            problems.append("nftables table %s %s is missing" % (FAMILY, TABLE))
        return problems
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
    return problems


def _compare_device(name, device, link, snapshot):
    problems = []
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
    if snapshot["ipv6_disabled"].get(name) is False:
        problems.append("vxlan device %s has IPv6 enabled" % name)
    if device.copy_length and snapshot["truncation"].get(name) != program_name(device.copy_length):
        problems.append("vxlan device %s lacks its truncation program (%d bytes)" % (name, device.copy_length))
    return problems


def table_problems(plan, snapshot):
    """Only the nftables part of the differences."""
    return _compare_table(plan, snapshot["table"])


def compare(plan, snapshot):
    """Differences between the kernel and ``plan``; [] means the kernel matches."""
    problems = _compare_table(plan, snapshot["table"])
    ours = snapshot["ours"]
    for name, device in sorted(plan.devices.items()):
        link = ours.get(name)
        if link is None:
            problems.append("vxlan device %s (%s) is missing" % (name, device.alias))
            continue
        problems.extend(_compare_device(name, device, link, snapshot))
    for name in sorted(set(ours) - set(plan.devices)):
        problems.append("vxlan device %s is not in the config" % name)
    problems.extend(ebpf_path.problems(plan, snapshot["links"], snapshot.get("programs", {})))
    return problems
