"""The differences between a Plan and a snapshot of the kernel (snapshot.read()): pure.

What is compared is behaviour, not names: for nftables the bytecode of every rule of every chain (its
match, verdict and copy target), the rules' order, the sets the exclusions use, the base chains' hooks and
devices (host.parse_bytecode(): the kernel's against what nft makes of the config); for eBPF the tag of
every attached program against the tag of the program the config compiles to (bpf.expected_tags()); for
the vxlan devices their VNI, target, port, state and truncation program (by tag too)."""

import collections

from . import ebpf_path
from .bpf import expected_tags
from .bpf import program as truncation_program
from .bpf import program_name
from .render import FAMILY
from .render import TABLE


def _describe(comment):
    return "rule %s" % comment if comment else "a rule without a comment"


def _rule_difference(want, have):
    """What differs between two rules' bytecode (tuples of expressions), in words."""
    want_dup = [line for line in want if line.startswith("[ dup ")]
    have_dup = [line for line in have if line.startswith("[ dup ")]
    if want_dup and not have_dup:
        return "makes no copy (its dup is gone)"
    if have_dup and not want_dup:
        return "makes a copy the config does not"
    verdict = [line for line in want if line.startswith("[ immediate reg 0 ")]
    if verdict != [line for line in have if line.startswith("[ immediate reg 0 ")]:
        return "has another verdict than the config's"
    if want_dup and [line for line in want if line.startswith("[ immediate reg 1 ")] != [
        line for line in have if line.startswith("[ immediate reg 1 ")
    ]:
        return "copies to another device than the config's"
    return "matches other packets than the config's (addresses, ports, protocol or direction)"


def _compare_rules(chain, want, have):
    problems = []
    if want == have:
        return problems
    want_comments = [comment for comment, _code in want]
    have_comments = [comment for comment, _code in have]
    if want_comments == have_comments:
        for (comment, want_code), (_same, have_code) in zip(want, have):
            if want_code != have_code:
                problems.append(
                    "%s in chain %s %s" % (_describe(comment), chain, _rule_difference(want_code, have_code))
                )
        return problems
    if collections.Counter(want) == collections.Counter(have):
        return ["chain %s has the config's rules in another order" % chain]
    missing = collections.Counter(want) - collections.Counter(have)
    extra = collections.Counter(have) - collections.Counter(want)
    changed = set(c for c, _code in missing) & set(c for c, _code in extra)
    for comment in sorted(changed, key=str):
        old = [code for c, code in missing if c == comment][0]
        new = [code for c, code in extra if c == comment][0]
        problems.append("%s in chain %s %s" % (_describe(comment), chain, _rule_difference(old, new)))
    for comment, _code in missing:
        if comment not in changed:
            problems.append("%s is missing from chain %s" % (_describe(comment), chain))
    for comment, _code in extra:
        if comment not in changed:
            problems.append("chain %s has %s that is not in the config" % (chain, _describe(comment)))
    return problems


def _compare_hooks(plan, kernel):
    problems = []
    for chain, (hook, device) in sorted(plan.hooks.items()):
        have = kernel["hooks"].get(chain)
        if have != ("filter", hook, device, "0", "accept"):
            problems.append("chain %s is not the config's %s hook of %s" % (chain, hook, device))
    return problems


def _compare_bytecode(plan, kernel, expected):
    problems = _compare_hooks(plan, kernel)
    for chain in sorted(plan.chains):
        problems.extend(_compare_rules(chain, expected["chains"].get(chain, []), kernel["chains"].get(chain, [])))
    for name, elements in sorted(expected["sets"].items()):
        have = kernel["sets"].get(name)
        if have is None:
            problems.append("set %s is missing" % name)
        elif have != elements:
            problems.append("set %s holds other elements than the config's" % name)
    for name in sorted(set(kernel["sets"]) - set(expected["sets"])):
        problems.append("unexpected set %s" % name)
    return problems


def _compare_table(plan, table, snapshot):
    problems = []
    if table is None:
        if plan.chains:
            problems.append("nftables table %s %s is missing" % (FAMILY, TABLE))
        return problems
    for chain in sorted(plan.chains):
        if table["chains"].get(chain) is None:
            problems.append("chain %s is missing" % chain)
    extra = sorted(set(table["chains"]) - set(plan.chains))
    if extra:
        problems.append("unexpected chain(s) %s" % ", ".join(extra))
    expected, why = snapshot.get("nft_expected", (None, None))
    kernel = snapshot.get("nft_code")
    if expected is not None and kernel is not None:
        problems.extend(_compare_bytecode(plan, kernel, expected))
        return problems
    if why:
        problems.append("the rules cannot be compared with the config's: nft cannot compile them here: %s" % why)
    # without the bytecode (a pure caller, or nft could not compile): names and copy targets only
    for chain, comments in sorted(plan.chains.items()):
        have = table["chains"].get(chain)
        if have is None:
            continue
        if [r["comment"] for r in have] != comments:
            problems.append("chain %s differs from the config" % chain)
            continue
        for entry in have:
            ref = plan.refs.get(entry["comment"])
            if ref is not None and ref.action == "accept":
                expected_device = plan.session_devices.get(ref.session)
                if entry["dup"] != expected_device:
                    problems.append(
                        "rule %s copies to %s, not to %s" % (entry["comment"], entry["dup"], expected_device)
                    )
    return problems


def truncation_problem(device, found):
    """Why the device's truncation program is not the config's, or None; ``found``: host.truncation_info()."""
    if not device.copy_length:
        return None
    wanted = "truncation program (%d bytes)" % device.copy_length
    if found is None:
        return "lacks its %s" % wanted
    name, tag, _prog_id = found
    if name != program_name(device.copy_length):
        return "runs %s, not its %s" % (name, wanted)
    if tag and tag not in expected_tags(truncation_program(device.copy_length, device.copy_limit)):
        return "runs another program than its %s (tag %s)" % (wanted, tag)
    return None


def _compare_device(name, device, link, snapshot):
    problems = []
    data = link.get("linkinfo", {}).get("info_data", {})
    if data.get("id") != device.vni:
        problems.append("vxlan device %s has VNI %s, not %d" % (name, data.get("id"), device.vni))
    elif str(data.get("remote", data.get("remote6", ""))) != str(device.address) or data.get("port") != device.port:
        problems.append("vxlan device %s has other parameters than %s" % (name, device.alias))
    elif str(link.get("ifalias", "")) != device.alias:
        problems.append("vxlan device %s is not set up as %s" % (name, device.alias))
    if "UP" not in link.get("flags", []):
        problems.append("vxlan device %s is down" % name)
    if snapshot["ipv6_disabled"].get(name) is False:
        problems.append("vxlan device %s has IPv6 enabled" % name)
    problem = truncation_problem(device, snapshot["truncation"].get(name))
    if problem:
        problems.append("vxlan device %s %s" % (name, problem))
    return problems


def table_problems(plan, snapshot):
    """Only the nftables part of the differences."""
    return _compare_table(plan, snapshot["table"], snapshot)


def compare(plan, snapshot):
    """Differences between the kernel and ``plan``; [] means the kernel matches."""
    problems = _compare_table(plan, snapshot["table"], snapshot)
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
