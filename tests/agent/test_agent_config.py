"""Agent config validation and rendering (pure: no kernel)."""

import json
import subprocess
import sys

import pytest
from traffic_mirror_agent.config import ConfigError
from traffic_mirror_agent.config import load_config
from traffic_mirror_agent.config import parse_config
from traffic_mirror_agent.render import build_plan
from traffic_mirror_agent.render import copy_length

from netns_lab import AGENT_PATH


def session(name="web", **fields):
    data = {
        "name": name,
        "network_interface": "eth0",
        "session_number": 1,
        "virtual_network_id": 100,
        "target": {"address": "198.18.1.2"},
        "filter": {
            "ingress_rules": [
                {
                    "rule_number": 10,
                    "rule_action": "accept",
                    "source_cidr_block": "0.0.0.0/0",
                    "destination_cidr_block": "0.0.0.0/0",
                }
            ]
        },
    }
    data.update(fields)
    return data


def error(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def test_valid_config_and_defaults():
    config = parse_config(
        {
            "sessions": [
                session(),
                session(
                    "b",
                    session_number=2,
                    virtual_network_id=7,
                    packet_length=128,
                    target={"address": "2001:db8::9", "port": 4790},
                ),
            ]
        }
    )
    web, b = sorted(config.sessions, key=lambda s: s.name)[::-1]
    assert web.target.port == 4789 and web.packet_length is None
    assert b.target.port == 4790 and str(b.target.address) == "2001:db8::9"
    assert config.max_sessions_per_interface == 3 and config.max_rules_per_direction == 10
    assert parse_config(config.to_dict()).to_dict() == config.to_dict()


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"session_number": 0}, "session 'web': session_number: 0 is out of range (allowed: 1-32766)"),
        (
            {"session_number": None},
            "session 'web': session_number: None is not an integer (required; allowed: 1-32766)",
        ),
        (
            {"virtual_network_id": 16777216},
            "session 'web': virtual_network_id: 16777216 is out of range (allowed: 0-16777215)",
        ),
        ({"packet_length": 8501}, "session 'web': packet_length: 8501 is out of range (allowed: 1-8500)"),
        ({"network_interface": "eth/0"}, "session 'web': network_interface: 'eth/0' is not an interface name"),
        ({"network_interface": "tma0123"}, "the prefix of the agent's own devices"),
        (
            {"target": {"address": "not-an-ip"}},
            "session 'web': target.address: 'not-an-ip' is not an IPv4 or IPv6 address",
        ),
        ({"target": {"address": "224.0.0.1"}}, "session 'web': target.address: 224.0.0.1 is not a unicast address"),
        (
            {"target": {"address": "198.18.1.2", "port": 0}},
            "session 'web': target.port: 0 is out of range (allowed: 1-65535)",
        ),
        ({"colour": 1}, "session 'web': unknown key(s) colour"),
        (
            {
                "filter": {
                    "egress_rules": [
                        {
                            "rule_number": 100,
                            "rule_action": "accept",
                            "protocol": 6,
                            "source_cidr_block": "0.0.0.0/0",
                            "destination_cidr_block": "0.0.0.0/0",
                            "destination_port_range": {"from_port": 90, "to_port": 80},
                        }
                    ]
                }
            },
            "session 'web': egress rule 100: destination_port_range: from_port 90 > to_port 80 "
            "(allowed: 0-65535, from_port <= to_port)",
        ),
    ],
)
def test_session_validation_names_session_and_field(fields, expected):
    assert expected in error({"sessions": [session(**fields)]})


def test_name_errors():
    assert "sessions[0]: name: 'bad name'" in error({"sessions": [session("bad name")]})
    assert "session 'web': name: used twice" in error({"sessions": [session(), session(network_interface="eth1")]})


def test_duplicate_session_number_is_an_error():
    message = error({"sessions": [session("a"), session("b", virtual_network_id=5)]})
    assert (
        message == "session 'b': session_number: 1 is already used by session 'a' on eth0 "
        "(session numbers are unique per interface)"
    )
    parse_config({"sessions": [session("a"), session("b", network_interface="eth1")]})  # another interface: fine


def test_sessions_per_interface_limit_like_aws_unless_raised():
    four = [session("s%d" % n, session_number=n, virtual_network_id=n) for n in range(1, 5)]
    assert "eth0 has 4 sessions (allowed: at most 3; raise max_sessions_per_interface for more)" in error(
        {"sessions": four}
    )
    assert len(parse_config({"sessions": four, "max_sessions_per_interface": 4}).sessions) == 4


def test_same_vni_to_two_targets_is_refused():
    message = error(
        {"sessions": [session("a"), session("b", network_interface="eth1", target={"address": "198.18.1.3"})]}
    )
    assert "session 'b': virtual_network_id: 100 to 198.18.1.3 is already used by session 'a' to 198.18.1.2" in message


def test_sessions_sharing_a_vni_and_target_share_the_copy_length():
    message = error({"sessions": [session("a", packet_length=64), session("b", network_interface="eth1")]})
    assert "session 'b': packet_length: whole packet differs from session 'a' (64)" in message
    config = parse_config({"sessions": [session("a"), session("b", network_interface="eth1")]})
    plan = build_plan(config, {})
    assert len(plan.devices) == 1 and plan.session_devices["a"] == plan.session_devices["b"]
    # the same VNI over IPv6 is another device
    config = parse_config(
        {"sessions": [session("a"), session("b", network_interface="eth1", target={"address": "2001:db8::2"})]}
    )
    assert len(build_plan(config, {}).devices) == 2


def test_rule_limit_is_a_parameter():
    rules = [
        {
            "rule_number": n,
            "rule_action": "accept",
            "source_cidr_block": "0.0.0.0/0",
            "destination_cidr_block": "0.0.0.0/0",
        }
        for n in range(1, 13)
    ]
    assert "session 'web': ingress_rules: 12 rules (allowed: at most 10 per direction)" in error(
        {"sessions": [session(filter={"ingress_rules": rules})]}
    )
    parse_config({"sessions": [session(filter={"ingress_rules": rules})], "max_rules_per_direction": 12})


def test_load_config_errors(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.json"))
    path.write_text(json.dumps({"sessions": [], "extra": 1}))
    with pytest.raises(ConfigError, match=r"config: unknown key\(s\) extra"):
        load_config(str(path))


def test_copy_length_caps_at_underlay_mtu():
    config = parse_config(
        {
            "sessions": [
                session(packet_length=8500),
                session("v6", session_number=2, virtual_network_id=9, target={"address": "2001:db8::2"}),
            ]
        }
    )
    web, v6 = sorted(config.sessions, key=lambda s: s.name)[::-1]
    assert copy_length(web, 1500) == 1500 - 36  # outer IPv4 20 + UDP 8 + VXLAN 8
    assert copy_length(v6, 1500) == 1500 - 56  # outer IPv6 40 + UDP 8 + VXLAN 8
    assert copy_length(web, None) == 8500
    assert copy_length(v6, None) is None


def test_render_is_deterministic_and_names_every_object():
    config = parse_config(
        {"sessions": [session(), session("b", session_number=2, virtual_network_id=5, packet_length=64)]}
    )
    plan = build_plan(config, {})
    again = build_plan(parse_config(config.to_dict()), {})
    assert plan.nft_script() == again.nft_script() and plan.digest == again.digest
    assert all(name.startswith("tma") and len(name) <= 15 for name in plan.devices)
    assert "table netdev traffic_mirror_agent {" in plan.ruleset
    assert 'hook ingress device "eth0"' in plan.ruleset and 'hook egress device "eth0"' in plan.ruleset
    assert "udp dport 4789 counter accept" in plan.ruleset  # the agent's own copies
    # session 1 jumps before session 2; accept ends evaluation (at most one copy)
    for family in (4, 6):
        assert plan.ruleset.index("jump s1_in%d_eth0" % family) < plan.ruleset.index("jump s2_in%d_eth0" % family)
    # each packet meets the rules of its own family only; TCP skips the UDP/ICMP exclusions
    assert "meta protocol vmap { ip : goto in4_eth0, ip6 : goto in6_eth0 }" in plan.ruleset
    assert "meta l4proto @udp_icmp4 jump in4x_eth0" in plan.ruleset
    # shared sets are declared once per table, not as a set literal in every rule
    assert plan.ruleset.count("set dhcp_ports4 {") == 1 and "{ 67, 68 }" not in plan.ruleset.split("chain in_eth0")[1]
    assert 'counter dup to "%s" accept comment "tma|web|ingress|10"' % plan.session_devices["web"] in plan.ruleset


def cli(tmp_path, command, config):
    """The agent's CLI ``command`` with ``config`` written to a file (no kernel state: render and refusals)."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "traffic_mirror_agent", command, "--config", str(path)],
        env={"PYTHONPATH": AGENT_PATH, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("datapath", ["nftables", "ebpf"])
def test_render_cli_changes_nothing(tmp_path, datapath):
    proc = cli(tmp_path, "render", {"sessions": [session()], "datapath": datapath})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# data path: eth0 %s\n" % datapath)
    assert "ip link add tma" in proc.stdout
    # the nftables table only for the nftables data path; one program per direction for eBPF
    assert ("table netdev traffic_mirror_agent" in proc.stdout) == (datapath == "nftables")
    for direction in ("ingress", "egress"):
        line = "# eBPF: tc filter replace dev eth0 %s pref 49 handle 1 bpf da <tma_" % direction
        assert (line in proc.stdout) == (datapath == "ebpf"), proc.stdout


def test_cli_reports_invalid_config_with_exit_2(tmp_path):
    proc = cli(tmp_path, "apply", {"sessions": [session(session_number=0)]})
    assert proc.returncode == 2
    assert "invalid config: session 'web': session_number: 0 is out of range" in proc.stderr
