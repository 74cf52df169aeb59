"""The agent's frame-level reference evaluator (pure; frames are built in memory, never sent)."""

import ipaddress
import struct

import reference
from netlab import frame
from traffic_mirror_agent.config import parse_config

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
ANY4 = {"source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "0.0.0.0/0"}
ANY6 = {"source_cidr_block": "::/0", "destination_cidr_block": "::/0"}


def ip(text):
    return ipaddress.ip_address(text)


def config(*sessions):
    result = []
    for index, (filter_, extra) in enumerate(sessions):
        data = {
            "name": "s%d" % (index + 1),
            "network_interface": "eth0",
            "session_number": index + 1,
            "virtual_network_id": 10 + index,
            "target": {"address": "198.18.1.2"},
            "filter": filter_,
        }
        data.update(extra)
        result.append(data)
    return parse_config({"sessions": result})


def accept_all():
    return {
        "ingress_rules": [
            dict(rule_number=1, rule_action="accept", **ANY4),
            dict(rule_number=2, rule_action="accept", **ANY6),
        ],
        "egress_rules": [
            dict(rule_number=1, rule_action="accept", **ANY4),
            dict(rule_number=2, rule_action="accept", **ANY6),
        ],
    }


def udp(src, dst, sport, dport):
    return frame(MAC_A, MAC_B, ip(src), ip(dst), 17, sport, dport, b"x" * 20)


def verdict(cfg, data, direction="ingress"):
    return reference.evaluate(cfg, "eth0", direction, data)


def test_never_mirrored():
    cfg = config((accept_all(), {}))
    arp = MAC_A + MAC_B + b"\x08\x06" + b"\0" * 28
    assert verdict(cfg, arp).excluded == "non-ip"
    assert verdict(cfg, udp("198.18.0.2", "198.18.0.1", 68, 67)).excluded == "dhcp"
    assert verdict(cfg, udp("2001:db8::2", "2001:db8::1", 546, 547)).excluded == "dhcp"
    assert verdict(cfg, udp("198.18.0.1", "169.254.169.254", 40000, 80), "egress").excluded == "metadata"
    assert verdict(cfg, udp("169.254.169.123", "198.18.0.1", 123, 123)).excluded == "metadata"
    assert verdict(cfg, udp("2001:db8::1", "fd00:ec2::254", 40000, 80), "egress").excluded == "metadata"
    assert verdict(cfg, udp("198.18.0.1", "198.18.1.2", 40000, 4789), "egress").excluded == "copies"
    assert verdict(cfg, udp("198.18.0.1", "198.18.1.2", 40000, 4790), "egress").session.name == "s1"
    quoted = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 60, 1, 0, 64, 17, 0, ip("198.18.0.1").packed, ip("198.18.1.2").packed
    )
    quoted += struct.pack("!HHHH", 40000, 4789, 40, 0)
    error = frame(MAC_A, MAC_B, ip("198.18.1.2"), ip("198.18.0.1"), 1, payload=quoted, icmp_type=3)
    assert verdict(cfg, error).excluded == "icmp-about-copies"
    echo = frame(MAC_A, MAC_B, ip("198.18.1.2"), ip("198.18.0.1"), 1, payload=quoted, icmp_type=8)
    assert verdict(cfg, echo).session.name == "s1"  # not an error: an ordinary packet


def test_amazon_dns_needs_the_network_service():
    with_service = dict(accept_all(), network_services=["amazon-dns"])
    reject_all = {"ingress_rules": [dict(rule_number=1, rule_action="reject", **ANY4)]}
    query = udp("198.18.0.1", "169.254.169.253", 40000, 53)
    answer = udp("169.254.169.253", "198.18.0.1", 53, 40000)
    cfg = config((accept_all(), {}), (dict(reject_all, network_services=["amazon-dns"]), {}))
    assert verdict(cfg, query, "egress").session.name == "s2"  # s1 skips it, s2 mirrors it despite its rules
    assert verdict(cfg, answer, "ingress").session.name == "s2"
    assert verdict(config((accept_all(), {})), query, "egress").session is None
    assert (
        verdict(config((with_service, {})), udp("198.18.0.1", "169.254.169.253", 40000, 54), "egress").session.name
        == "s1"
    )


def test_reject_in_a_lower_session_lets_the_next_one_mirror():
    reject = {"ingress_rules": [dict(rule_number=5, rule_action="reject", protocol=17, **ANY4)]}
    cfg = config((reject, {}), (accept_all(), {}))
    result = verdict(cfg, udp("198.18.0.2", "198.18.0.1", 1, 2))
    assert result.session.name == "s2" and result.rule == 1
    assert result.evaluated == [("s1", 5, "reject"), ("s2", 1, "accept")]
    only = verdict(config((reject, {})), udp("198.18.0.2", "198.18.0.1", 1, 2))
    assert only.session is None and only.excluded is None


def test_ipv6_extension_headers_are_skipped_for_the_protocol():
    src, dst = ip("2001:db8::2"), ip("2001:db8::1")
    segment = struct.pack("!HHHH", 1000, 2000, 12, 0) + b"abcd"
    hop_by_hop = struct.pack("!BB6x", 17, 0)
    packet = (
        struct.pack("!IHBB16s16s", 6 << 28, len(hop_by_hop + segment), 0, 64, src.packed, dst.packed)
        + hop_by_hop
        + segment
    )
    parsed = reference.parse_frame(MAC_A + MAC_B + b"\x86\xdd" + packet)
    assert (parsed.protocol, parsed.sport, parsed.dport) == (17, 1000, 2000)


def test_copy_bytes():
    data = bytes(range(200))
    assert reference.copy_bytes(data, 64) == data[:64]
    assert reference.copy_bytes(data, None) == data
    assert reference.copy_bytes(data, 500) == data
