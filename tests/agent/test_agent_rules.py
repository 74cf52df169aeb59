"""The shared rule model (plugins/module_utils/mirror_rules.py): validation and AWS's semantics."""

import ipaddress
import os

import pytest
from hypothesis import find
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from reference import Packet
from reference import decide
from reference import first_mirroring_session
from reference import rule_matches
from traffic_mirror_agent import rules as agent_rules
from traffic_mirror_agent.rules import RuleError
from traffic_mirror_agent.rules import normalize_protocol
from traffic_mirror_agent.rules import parse_filter
from traffic_mirror_agent.rules import parse_rule

from netns_lab import AGENT_PATH
from netns_lab import ROOT


def rule(number=100, action="accept", **fields):
    data = {
        "rule_number": number,
        "rule_action": action,
        "source_cidr_block": "0.0.0.0/0",
        "destination_cidr_block": "0.0.0.0/0",
    }
    data.update(fields)
    return data


def error(callable_, *args, **kwargs):
    with pytest.raises(RuleError) as info:
        callable_(*args, **kwargs)
    return str(info.value)


def test_rules_module_is_one_file_shared_by_agent_and_modules():
    link = os.path.join(AGENT_PATH, "traffic_mirror_agent", "rules.py")
    assert os.path.islink(link)
    assert not os.path.isabs(os.readlink(link))
    assert os.path.realpath(link) == os.path.join(ROOT, "plugins", "module_utils", "mirror_rules.py")
    assert os.path.realpath(agent_rules.__file__) == os.path.realpath(link)


def test_message_names_session_rule_and_field():
    message = error(
        parse_filter,
        {"egress_rules": [rule(100, protocol=6, destination_port_range={"from_port": 90, "to_port": 80})]},
        session="web",
    )
    assert message == (
        "session 'web': egress rule 100: destination_port_range: from_port 90 > to_port 80 "
        "(allowed: 0-65535, from_port <= to_port)"
    )


def test_message_without_session_names_list_position():
    message = error(
        parse_filter,
        {
            "egress_rules": [
                rule(1),
                rule(2),
                rule(100, protocol=6, destination_port_range={"from_port": 90, "to_port": 80}),
            ]
        },
    )
    assert message.startswith("egress_rules[2] (rule 100): destination_port_range: from_port 90 > to_port 80")


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"rule_number": 0}, "ingress_rules[0]: rule_number: 0 is not a rule number (required; allowed: 1-32766)"),
        ({"rule_number": "x"}, "ingress_rules[0]: rule_number: 'x' is not a rule number"),
        ({"rule_action": "drop"}, "ingress_rules[0] (rule 100): rule_action: 'drop' is not an action"),
        ({"protocol": 256}, "ingress_rules[0] (rule 100): protocol: 256 is not a protocol"),
        ({"protocol": "gre"}, "ingress_rules[0] (rule 100): protocol: 'gre' is not a protocol"),
        (
            {"source_cidr_block": "10.0.0.0/33"},
            "ingress_rules[0] (rule 100): source_cidr_block: '10.0.0.0/33' is not a CIDR block",
        ),
        (
            {"destination_cidr_block": None},
            "ingress_rules[0] (rule 100): destination_cidr_block: None is not a CIDR block (required",
        ),
        (
            {"destination_cidr_block": "2001:db8::/32"},
            "ingress_rules[0] (rule 100): destination_cidr_block: "
            "2001:db8::/32 is IPv6 but source_cidr_block 0.0.0.0/0 is IPv4",
        ),
        (
            {"source_port_range": {"from_port": 1, "to_port": 2}},
            "ingress_rules[0] (rule 100): source_port_range: "
            "port ranges need protocol 6 (tcp) or 17 (udp), not all protocols",
        ),
        (
            {"protocol": 1, "destination_port_range": {"from_port": 1}},
            "destination_port_range: port ranges need protocol 6 (tcp) or 17 (udp), not 1",
        ),
        (
            {"protocol": 6, "destination_port_range": {"from_port": 70000, "to_port": 70001}},
            "destination_port_range: from_port 70000 is not a port (allowed: 0-65535",
        ),
        (
            {"protocol": 6, "destination_port_range": {"from": 1}},
            "destination_port_range: unknown key(s) from (allowed: from_port, to_port)",
        ),
        ({"protocol": 6, "destination_port_range": {}}, "destination_port_range: needs from_port and/or to_port"),
        ({"colour": "red"}, "ingress_rules[0] (rule 100): unknown field(s) colour"),
        ({"description": "x" * 256}, "description: 256 characters (allowed: at most 255)"),
    ],
)
def test_rule_validation(fields, expected):
    message = error(
        parse_filter, {"ingress_rules": [rule(**fields) if "rule_number" not in fields else dict(rule(), **fields)]}
    )
    assert message.startswith(expected) or expected in message, message


def test_duplicate_rule_numbers_and_limits():
    assert "rule_number: 5 is used twice in ingress_rules (also ingress_rules[0]" in error(
        parse_filter, {"ingress_rules": [rule(5), rule(5)]}
    )
    many = [rule(n) for n in range(1, 12)]
    assert error(parse_filter, {"egress_rules": many}) == "egress_rules: 11 rules (allowed: at most 10 per direction)"
    assert len(parse_filter({"egress_rules": many}, max_rules_per_direction=20).egress_rules) == 11
    assert "session 'a': egress_rules: 11 rules" in error(parse_filter, {"egress_rules": many}, session="a")


def test_filter_keys_and_network_services():
    assert "filter: unknown key(s) rules" in error(parse_filter, {"rules": []})
    assert "network_services[0]: 'dns' is not a network service (allowed: amazon-dns)" in error(
        parse_filter, {"network_services": ["dns"]}
    )
    assert parse_filter({"network_services": ["amazon-dns"]}).network_services == ("amazon-dns",)
    assert parse_filter(None).ingress_rules == ()


def test_protocol_normalisation():
    assert [normalize_protocol(p) for p in ("tcp", "UDP", "icmp", "icmpv6", "6", 17, None, "all", -1, "-1")] == [
        6,
        17,
        1,
        58,
        6,
        17,
        None,
        None,
        None,
        None,
    ]


def test_normalised_dict_round_trip():
    data = rule(
        7,
        "reject",
        protocol="tcp",
        source_cidr_block="10.1.2.3/8",
        destination_port_range={"from_port": 443},
        description="x",
        traffic_mirror_filter_rule_id="tmfr-0123456789abcdef0",
        traffic_direction="ingress",
    )
    normal = parse_rule(data, "ingress").to_dict()
    assert normal == {
        "rule_number": 7,
        "rule_action": "reject",
        "protocol": 6,
        "source_cidr_block": "10.0.0.0/8",
        "destination_cidr_block": "0.0.0.0/0",
        "destination_port_range": {"from_port": 443, "to_port": 443},
        "description": "x",
    }
    assert parse_rule(normal, "ingress").to_dict() == normal
    assert parse_rule(normal, "ingress") == parse_rule(data, "ingress")


def test_decide_first_match_by_rule_number():
    rules = parse_filter(
        {
            "ingress_rules": [
                rule(200, "accept"),
                rule(100, "reject", protocol=6, destination_port_range={"from_port": 22, "to_port": 22}),
            ]
        }
    ).ingress_rules
    ssh = Packet("198.18.0.2", "198.18.0.1", 6, 40000, 22)
    web = Packet("198.18.0.2", "198.18.0.1", 6, 40000, 80)
    v6 = Packet("2001:db8::2", "2001:db8::1", 6, 40000, 80)
    assert decide(rules, ssh).action == "reject" and decide(rules, ssh).rule.rule_number == 100
    assert decide(rules, web).action == "accept" and decide(rules, web).rule.rule_number == 200
    assert decide(rules, v6) is None  # 0.0.0.0/0 is IPv4 only: no match, not mirrored


def test_port_rules_need_ports():
    rules = parse_filter(
        {"ingress_rules": [rule(1, protocol=17, source_port_range={"from_port": 0, "to_port": 65535})]}
    ).ingress_rules
    assert decide(rules, Packet("198.18.0.2", "198.18.0.1", 17, 5, 6)) is not None
    assert decide(rules, Packet("198.18.0.2", "198.18.0.1", 17, None, None)) is None  # non-first fragment
    assert decide(rules, Packet("198.18.0.2", "198.18.0.1", 1)) is None


def test_reject_in_lower_session_lets_a_higher_one_mirror():
    low = parse_filter({"ingress_rules": [rule(1, "reject")]})
    high = parse_filter({"ingress_rules": [rule(1, "accept")]})
    also = parse_filter({"ingress_rules": [rule(1, "accept")]})
    packet = Packet("198.18.0.2", "198.18.0.1", 17, 1, 2)
    key, matched = first_mirroring_session([(3, also, "c"), (1, low, "a"), (2, high, "b")], "ingress", packet)
    assert key == "b" and matched.rule_number == 1
    assert first_mirroring_session([(1, low, "a")], "ingress", packet) is None
    assert first_mirroring_session([(1, low, "a")], "egress", packet) is None


BITS = {4: 32, 6: 128}


def in_cidr(address, cidr):
    """The oracle, independent of the code under test: Python's ipaddress (host bits allowed, as AWS allows)."""
    address = ipaddress.ip_address(address)
    network = ipaddress.ip_network(cidr, strict=False)
    return address.version == network.version and address in network


@st.composite
def cidr_and_addresses(draw):
    """A CIDR (its address and prefix drawn on their own, IPv4 or IPv6) and a packet address drawn independently
    of it: either anywhere in an address family (mostly the CIDR's, sometimes the other), or the CIDR's address
    with a random run of its low bits flipped, which lands inside or outside depending on the prefix. Membership
    is never built in: the oracle decides it."""
    version = draw(st.sampled_from([4, 6]))
    bits = BITS[version]
    network = draw(st.integers(0, 2**bits - 1))
    prefix = draw(st.integers(0, bits))
    cidr = "%s/%d" % (ipaddress.ip_address(network) if version == 4 else ipaddress.IPv6Address(network), prefix)

    def address():
        how = draw(st.sampled_from(["anywhere", "near", "near", "other family"]))
        if how == "anywhere":
            return (
                ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
                if version == 4
                else (ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1))))
            )
        if how == "near":
            flipped = draw(st.integers(0, 2**bits - 1)) >> draw(st.integers(0, bits))
            return (ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address)(network ^ flipped)
        other = 6 if version == 4 else 4
        return (ipaddress.IPv4Address if other == 4 else ipaddress.IPv6Address)(
            draw(st.integers(0, 2 ** BITS[other] - 1))
        )

    return cidr, address()


@st.composite
def rule_and_packet_addresses(draw):
    """Source and destination CIDRs of one family, and a packet's source and destination of one family."""
    source_cidr, src = draw(cidr_and_addresses())
    destination_cidr, dst = draw(cidr_and_addresses())
    if (
        ipaddress.ip_network(destination_cidr, strict=False).version
        != ipaddress.ip_network(source_cidr, strict=False).version
    ):
        destination_cidr = "::/0" if ":" in source_cidr else "0.0.0.0/0"
    if dst.version != src.version:
        dst = ipaddress.ip_address("2001:db8::1" if src.version == 6 else "198.18.0.1")
    return source_cidr, destination_cidr, src, dst


@settings(max_examples=300, deadline=None)
@given(
    addresses=rule_and_packet_addresses(),
    protocol=st.sampled_from([None, 1, 6, 17, 47]),
    packet_protocol=st.sampled_from([1, 6, 17, 47]),
    sport=st.integers(0, 65535),
    dport=st.integers(0, 65535),
    low=st.integers(0, 65535),
    span=st.integers(0, 2000),
)
def test_match_is_cidr_membership_and_ranges(addresses, protocol, packet_protocol, sport, dport, low, span):
    source_cidr, destination_cidr, src, dst = addresses
    high = min(65535, low + span)
    fields = {"source_cidr_block": source_cidr, "destination_cidr_block": destination_cidr}
    if protocol is not None:
        fields["protocol"] = protocol
    if protocol in (6, 17):
        fields["destination_port_range"] = {"from_port": low, "to_port": high}
    parsed = parse_rule(rule(1, **fields), "ingress")
    packet = Packet(
        src,
        dst,
        packet_protocol,
        sport if packet_protocol in (6, 17) else None,
        dport if packet_protocol in (6, 17) else None,
    )
    expected = (
        in_cidr(src, source_cidr)
        and in_cidr(dst, destination_cidr)
        and (protocol is None or protocol == packet_protocol)
        and (protocol not in (6, 17) or low <= dport <= high)
    )
    assert rule_matches(parsed, packet) == expected


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("member", [True, False])
def test_the_cidr_strategy_draws_members_and_non_members(version, member):
    """The property above can fail both ways: its addresses fall inside and outside their CIDR, in both families,
    with prefixes neither 0 nor full length."""
    found = find(
        cidr_and_addresses(),
        lambda drawn: ipaddress.ip_network(drawn[0], strict=False).version == version
        and 0 < ipaddress.ip_network(drawn[0], strict=False).prefixlen < BITS[version]
        and in_cidr(drawn[1], drawn[0]) == member,
        settings=settings(max_examples=2000, database=None),
    )
    assert in_cidr(found[1], found[0]) == member
