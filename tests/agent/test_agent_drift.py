"""Drift by behaviour: the kernel state the agent made is changed behind its back in ways that keep every name
(a rule's comment, a program's name, a device's name and alias) but change what is mirrored. Each change must
be named by `status`, repaired by the running service (`run`) within one poll, and mirroring then proven by
traffic: UDP from the peer to src:9000 arrives at the collector, once per packet, with the session's VNI and
truncated to its length.

The mutations, per data path:
- nftables (the table is listed, edited as text and loaded back, comments and all): a rule's `dup` dropped,
  its port range or source CIDR changed, two rules swapped, a rule deleted, a foreign rule added, an element
  of the never-mirrored set replaced by the peer's address;
- eBPF (the equivalent: a program compiled from a changed config, loaded under the name of the config's
  program and swapped in at the agent's pref and handle): rule 20 made a reject (no redirect: "dup dropped"),
  its port range or source CIDR changed, rules 10 and 20 swapped, rule 20 deleted, a foreign reject rule
  added before it, the never-mirrored addresses with the peer's among them;
- both: the truncation program detached from the vxlan device, or replaced by another length's program under
  its name; the vxlan device deleted and created again with another VNI under its name and alias.

Lab: netlab.topology(), the agent mirroring src eth0 (ingress UDP, 128-byte copies).
"""

import json
import os
import sys

import pytest
from netlab import Agent
from netlab import Lab
from netlab import topology
from netlab import udp_copies
from test_agent_integration import COLLECTOR
from test_agent_integration import PEER
from test_agent_integration import rule
from test_agent_service import wait_for
from traffic_mirror_agent import maps
from traffic_mirror_agent import state

pytestmark = pytest.mark.netns

VNI = 801
LENGTH = 128
POLL = 2.0
PORT = 9000
TABLE = ("netdev", "traffic_mirror_agent")
CHAIN = "s1_in4_eth0"
RULE20 = "tma|m|ingress|20"
RULE10 = "tma|m|ingress|10"


def session(ingress_rules):
    return {
        "name": "m",
        "network_interface": "eth0",
        "session_number": 1,
        "virtual_network_id": VNI,
        "packet_length": LENGTH,
        "target": {"address": COLLECTOR},
        "filter": {
            "ingress_rules": ingress_rules,
            "egress_rules": [rule(10, protocol=17, destination_port_range={"from_port": 9100, "to_port": 9100})],
        },
    }


def rules(rule10=None, rule20=None, extra=()):
    first = dict(
        rule(10, "reject", protocol=17, destination_port_range={"from_port": 9009, "to_port": 9009}), **(rule10 or {})
    )
    second = dict(
        rule(
            20,
            protocol=17,
            source_cidr_block="198.18.0.0/24",
            destination_port_range={"from_port": 9000, "to_port": 9001},
        ),
        **(rule20 or {}),
    )
    return list(extra) + [first, second]


def config():
    return {"sessions": [session(rules())]}


@pytest.fixture(scope="module")
def service(datapath, tmp_path_factory):
    """The lab and the agent running as a service on it (one per data path, shared by the mutations)."""
    lab = Lab(datapath)
    proc = None
    try:
        topology(lab)
        agent = Agent(lab, "src", tmp_path_factory.mktemp("drift-%s" % datapath))
        agent.write_config(config())
        proc = agent.popen("run", "--config", agent.config_path, "--poll-interval", str(POLL))
        # nothing applied and nothing recorded also "matches": wait for the service's first apply itself
        wait_for(lambda: applied_and_matching(agent), 60, "the first apply")
        yield lab, agent, proc
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        lab.close()


def applied_and_matching(agent):
    status = agent.status()
    return status["config_recorded"] and status["matches"]


def copies(lab, count=5):
    """UDP from the peer to src:PORT; the lengths of the copies with the session's VNI at the collector."""
    return [len(inner) for vni, inner in udp_copies(lab, b"drift-test" + b"." * 300, PORT, count) if vni == VNI]


def device(agent):
    (item,) = agent.status()["sessions"]
    return item["device"]


# ---------------------------------------------------------------- mutations: nftables


def edit_table(lab, edit):
    """List the agent's table, change its text with ``edit(lines)`` and load it back in one transaction."""
    listing = lab.run("src", "nft", "list", "table", *TABLE).stdout
    lines = edit(listing.splitlines())
    script = "delete table %s %s\n" % TABLE + "\n".join(lines) + "\n"
    lab.run("src", "nft", "-f", "-", input_text=script)


def rule_line(lines, comment, chain=CHAIN):
    """Index of the rule with ``comment`` in ``chain`` (the listing's order)."""
    inside = False
    for index, line in enumerate(lines):
        if line.strip().startswith("chain "):
            inside = line.split()[1] == chain
        elif inside and line.rstrip().endswith('comment "%s"' % comment):
            return index
    raise AssertionError("no rule %s in chain %s" % (comment, chain))


def nft_replace(comment, old, new):
    def edit(lines):
        at = rule_line(lines, comment)
        assert old in lines[at], lines[at]
        lines[at] = lines[at].replace(old, new)
        return lines

    return edit


def nft_drop_dup(lab, agent):
    edit_table(lab, nft_replace(RULE20, ' dup to "%s"' % device(agent), ""))


def nft_swap(lab, agent):
    def edit(lines):
        first, second = rule_line(lines, RULE10), rule_line(lines, RULE20)
        lines[first], lines[second] = lines[second], lines[first]
        return lines

    edit_table(lab, edit)


def nft_delete(lab, agent):
    def edit(lines):
        del lines[rule_line(lines, RULE20)]
        return lines

    edit_table(lab, edit)


def nft_foreign(lab, agent):
    def edit(lines):
        lines.insert(rule_line(lines, RULE10), "\t\tmeta l4proto udp counter accept")
        return lines

    edit_table(lab, edit)


def nft_exclusion(lab, agent):
    def edit(lines):
        for index, line in enumerate(lines):
            if "169.254.169.254" in line:
                lines[index] = line.replace("169.254.169.254", PEER)
                return lines
        raise AssertionError("no never-mirrored set in the listing")

    edit_table(lab, edit)


NFT_MUTATIONS = {
    "drop-dup": (nft_drop_dup, "rule %s in chain %s makes no copy" % (RULE20, CHAIN)),
    "change-port": (
        lambda lab, agent: edit_table(lab, nft_replace(RULE20, "9000-9001", "9002-9003")),
        "rule %s in chain %s matches other packets than the config's" % (RULE20, CHAIN),
    ),
    "change-cidr": (
        lambda lab, agent: edit_table(lab, nft_replace(RULE20, "198.18.0.0/24", "198.19.0.0/24")),
        "rule %s in chain %s matches other packets than the config's" % (RULE20, CHAIN),
    ),
    "swap-rules": (nft_swap, "chain %s has the config's rules in another order" % CHAIN),
    "delete-rule": (nft_delete, "rule %s is missing from chain %s" % (RULE20, CHAIN)),
    "foreign-rule": (nft_foreign, "chain %s has a rule without a comment that is not in the config" % CHAIN),
    "exclusion-set": (nft_exclusion, "set never_mirrored4 holds other elements than the config's"),
}


# ---------------------------------------------------------------- mutations: eBPF

SWAP_IN = """
import json, sys
from traffic_mirror_agent import compiler, ebpf_path, host, render
from traffic_mirror_agent.config import parse_config

data, direction, name, never = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
if never:
    render.NEVER_MIRRORED_V4 = tuple(never)
config = parse_config(data)
plan = render.build_plan(config, host.host_mtus(config, strict=False), {"eth0": "ebpf"})
compiled = compiler.program_for(plan, "eth0", direction, ebpf_path.ifindexes(host.links()))
ebpf_path.attach(ebpf_path.load("eth0", direction, name, compiled))
"""


def swap_program(lab, agent, ingress_rules, never=()):
    """Compile the program of a config with ``ingress_rules`` and swap it in under the name of the
    config's program on eth0's ingress."""
    (name,) = agent_program_names(lab)
    data = agent.with_datapath({"datapath": "ebpf", "sessions": [session(ingress_rules)]})
    agent_python(lab, agent, SWAP_IN, json.dumps(data), "ingress", name, *never)
    assert agent_program_names(lab) == [name]  # the same name: only the tag can tell


def agent_python(lab, agent, script, *args):
    """Run a Python ``script`` with the agent's package on src (it changes the kernel as a stranger would)."""
    lab.run("src", "env", "PYTHONPATH=%s" % agent.env()["PYTHONPATH"], sys.executable, "-c", script, *args)


def agent_program_names(lab):
    listed = json.loads(lab.run("src", "tc", "-j", "filter", "show", "dev", "eth0", "ingress").stdout or "[]")
    names = []
    for item in listed:
        if item.get("kind") == "bpf" and item.get("options"):
            prog = item["options"].get("prog") or {}
            # iproute2 before 5.16 (Debian 11's 5.9) prints no program name: the kernel has it, by id
            names.append(prog.get("name") or maps.program_name(prog["id"]))
    return names


NEVER = ("169.254.169.254", "169.254.169.123", "169.254.169.250", PEER)
EBPF_PROBLEM = "eth0 ingress: runs another program than the config's under its name"
EBPF_MUTATIONS = {
    "drop-dup": (lambda lab, agent: swap_program(lab, agent, rules(rule20={"rule_action": "reject"})), EBPF_PROBLEM),
    "change-port": (
        lambda lab, agent: swap_program(
            lab, agent, rules(rule20={"destination_port_range": {"from_port": 9002, "to_port": 9003}})
        ),
        EBPF_PROBLEM,
    ),
    "change-cidr": (
        lambda lab, agent: swap_program(lab, agent, rules(rule20={"source_cidr_block": "198.19.0.0/24"})),
        EBPF_PROBLEM,
    ),
    "swap-rules": (
        lambda lab, agent: swap_program(lab, agent, rules(rule10={"rule_number": 20}, rule20={"rule_number": 10})),
        EBPF_PROBLEM,
    ),
    "delete-rule": (lambda lab, agent: swap_program(lab, agent, rules()[:1]), EBPF_PROBLEM),
    "foreign-rule": (
        lambda lab, agent: swap_program(lab, agent, rules(extra=[rule(5, "reject", protocol=17)])),
        EBPF_PROBLEM,
    ),
    "exclusion-set": (lambda lab, agent: swap_program(lab, agent, rules(), never=NEVER), EBPF_PROBLEM),
}


# ---------------------------------------------------------------- mutations: both


def detach_truncation(lab, agent):
    lab.run("src", "tc", "filter", "del", "dev", device(agent), "egress")


TRUNCATION_SWAP = """
import sys
from traffic_mirror_agent import bpf, host, maps

name, wrong, right = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
map_fd = maps.create_counters(1)
try:
    code = bpf.program(wrong, None, map_fd)
except TypeError:  # the agent before it counted what it could not truncate
    code = bpf.program(wrong)
pin = bpf.PinnedProgram(lambda: bpf.load_code(code, bpf.program_name(right)), "tma_t")
with pin as path:
    host.run(["tc", "filter", "replace", "dev", name, "egress", "pref", "1", "handle", "1", "bpf", "da",
              "object-pinned", path])
"""


def other_truncation(lab, agent):
    """The truncation program of another length (600 bytes), under the name of the config's (128)."""
    agent_python(lab, agent, TRUNCATION_SWAP, device(agent), "600", str(LENGTH))


def change_vni(lab, agent):
    """The vxlan device deleted and made again with VNI 999, with the same name and alias."""
    name = device(agent)
    (link,) = json.loads(lab.run("src", "ip", "-d", "-j", "link", "show", "dev", name).stdout)
    lab.run("src", "ip", "link", "del", name)
    lab.run("src", "ip", "link", "add", name, "type", "vxlan", "id", "999", "remote", COLLECTOR, "dstport", "4789")
    lab.run("src", "ip", "link", "set", "dev", name, "alias", link["ifalias"])
    lab.run("src", "ip", "link", "set", "dev", name, "up")


BOTH = {
    "detach-truncation": (detach_truncation, "lacks its truncation program (%d bytes)" % LENGTH),
    "other-truncation": (other_truncation, "runs another program than its truncation program (%d bytes)" % LENGTH),
    "change-vni": (change_vni, "has VNI 999, not %d" % VNI),
}
MUTATIONS = sorted(set(NFT_MUTATIONS) | set(BOTH))


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_change_behind_the_agents_back_is_named_and_repaired_within_one_poll(service, mutation):
    lab, agent, proc = service
    assert agent.status()["matches"] is True
    assert copies(lab) == [LENGTH] * 5
    mutations = dict(EBPF_MUTATIONS if lab.datapath == "ebpf" else NFT_MUTATIONS, **BOTH)
    mutate, named = mutations[mutation]
    log = os.path.join(agent.workdir, "run.log")
    logged = len(open(log).read())
    # the agent's own lock, which the service holds while it reads and changes the kernel: held here, the
    # service cannot repair before status has looked, and is never caught half-way through an apply
    with state.exclusive(agent.env()["TMA_STATE_DIR"]):
        mutate(lab, agent)
        status = agent.status()
        assert status["matches"] is False, "the change was not seen: %r" % status
        assert any(named in problem for problem in status["problems"]), status["problems"]
    # Within one poll: the service logs only what it changed, so one "fixed:" line and no failure means the
    # first reconcile after the lock was released repaired it (the diff is deterministic: a poll that looks
    # sees the drift). Not a wall-clock bound: one status call alone takes seconds on a TCG guest.
    wait_for(lambda: agent.status()["matches"], 60, "the repair")
    assert proc.poll() is None
    added = open(log).read()[logged:]
    assert added.count("fixed: ") == 1 and "failed" not in added, added
    assert copies(lab) == [LENGTH] * 5  # mirrored again, once per packet, truncated as configured
