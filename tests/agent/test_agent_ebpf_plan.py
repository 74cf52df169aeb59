"""The eBPF part of the diff, pure: which programs the plan needs, compiled once each, and not compiled at all
where nothing is attached to compare them with (a first apply at 100 interfaces compiled 400 programs for 200
hooks before: once for the diff, once to load)."""

import pytest
from traffic_mirror_agent import compiler
from traffic_mirror_agent import ebpf_path
from traffic_mirror_agent.config import parse_config
from traffic_mirror_agent.render import build_plan

INTERFACES = ("eth0", "eth1", "eth2")


def plan_of(interfaces=INTERFACES):
    sessions = [
        {
            "name": "s-%s" % interface,
            "network_interface": interface,
            "session_number": 1,
            "virtual_network_id": 700 + number,
            "target": {"address": "198.18.1.2"},
            "filter": {
                "ingress_rules": [
                    {
                        "rule_number": 10,
                        "rule_action": "accept",
                        "protocol": 17,
                        "source_cidr_block": "0.0.0.0/0",
                        "destination_cidr_block": "0.0.0.0/0",
                    }
                ]
            },
        }
        for number, interface in enumerate(interfaces)
    ]
    config = parse_config({"datapath": "ebpf", "sessions": sessions})
    return build_plan(config, {}, {interface: "ebpf" for interface in interfaces})


@pytest.fixture
def compiles(monkeypatch):
    """The (interface, direction) of every compile_program() call."""
    calls = []
    real = compiler.compile_program

    def counted(interface, direction, *args, **kwargs):
        calls.append((interface, direction))
        return real(interface, direction, *args, **kwargs)

    monkeypatch.setattr(compiler, "compile_program", counted)
    return calls


def links(plan, base):
    """Links as host.links() gives them: the plan's vxlan devices at ifindexes from ``base``."""
    return {name: {"ifindex": base + number} for number, name in enumerate(sorted(plan.devices))}


def test_nothing_attached_is_every_hook_missing_without_compiling(compiles):
    plan = plan_of()
    found = ebpf_path.problems(plan, links(plan, 10), {})
    assert found == ["%s %s: the eBPF program is missing" % hook for hook in ebpf_path.hooks(plan)]
    assert len(found) == 2 * len(INTERFACES)
    assert compiles == []


def test_each_program_is_compiled_once_per_set_of_ifindexes(compiles):
    plan = plan_of()
    first = ebpf_path.wanted(plan, links(plan, 10))
    again = ebpf_path.wanted(plan, links(plan, 10))
    assert sorted(compiles) == sorted(ebpf_path.hooks(plan))
    assert all(again[hook][1] is first[hook][1] for hook in first)
    # status's counter slots (placeholder ifindexes) share one compile per hook too
    compiler.plan_refs(plan)
    compiler.plan_refs(plan)
    assert len(compiles) == 2 * len(ebpf_path.hooks(plan))
    # new vxlan devices (new ifindexes): other redirects where a rule copies (ingress), so other programs
    moved = ebpf_path.wanted(plan, links(plan, 50))
    assert len(compiles) == 3 * len(ebpf_path.hooks(plan))
    assert all((moved[hook][0] != first[hook][0]) == (hook[1] == "ingress") for hook in first)


def test_the_attached_programs_compare_by_name(compiles):
    plan = plan_of()
    all_links = links(plan, 10)
    wanted = ebpf_path.wanted(plan, all_links)
    programs = {interface: {} for interface in INTERFACES}
    for (interface, direction), (name, _compiled) in wanted.items():
        programs[interface][direction] = (name, 1, None)
    assert ebpf_path.problems(plan, all_links, programs) == []
    programs["eth1"]["egress"] = ("tma_00000000000", 2, None)
    assert ebpf_path.problems(plan, all_links, programs) == [
        "eth1 egress: runs eBPF program tma_00000000000, not %s" % wanted[("eth1", "egress")][0]
    ]
