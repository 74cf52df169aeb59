"""Plain-Python reference of what the agent mirrors: rule by rule and frame by frame.

Test code only (never on hosts, never in module payloads): the rule model it evaluates is the
shipped one (traffic_mirror_agent.rules, i.e. plugins/module_utils/mirror_rules.py).

It states the agent's semantics without the kernel: given the config, the
interface, the direction and an Ethernet frame, which session mirrors it (if
any), by which rule, and how many bytes the copy keeps. Tests compare the
kernel's behaviour with it.

Order of decisions (the same as the compiled ruleset):
1. never mirrored: non-IP (ARP, ...), the agent's own copies (UDP to a
   target's address and port) and ICMP errors quoting them, DHCP (UDP 67/68,
   546/547), the instance metadata, time sync and activation addresses;
2. sessions of the interface in ascending session number; per session:
   Amazon DNS traffic is mirrored by the session when its filter lists the
   amazon-dns network service and skipped by it otherwise; else the rules of
   the direction decide (first match by rule number; accept = this session
   mirrors it and no later session sees it; reject or no match = next session).
"""

import ipaddress
import struct
from collections import namedtuple

from traffic_mirror_agent import render
from traffic_mirror_agent.rules import PORT_PROTOCOLS

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
IPV6_EXTENSION_HEADERS = (0, 43, 60)  # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44
ICMP_ERROR_TYPES = (3, 4, 11, 12)
ICMPV6_ERROR_TYPES = (1, 2, 3, 4)


# ---------------------------------------------------------------- rule level


class Packet(namedtuple("Packet", ["src", "dst", "protocol", "sport", "dport"])):
    """What a rule looks at in a packet: addresses (ipaddress objects), transport
    protocol number, and ports (None when the packet has none, e.g. ICMP or a
    non-first fragment)."""

    __slots__ = ()

    def __new__(cls, src, dst, protocol, sport=None, dport=None):
        return super(Packet, cls).__new__(
            cls, ipaddress.ip_address(src), ipaddress.ip_address(dst), int(protocol), sport, dport
        )

    @property
    def version(self):
        return self.src.version


def rule_matches(rule, packet):
    """True when the FilterRule ``rule`` matches ``packet``."""
    if packet.version != rule.family:
        return False
    if packet.src not in rule.source_cidr_block or packet.dst not in rule.destination_cidr_block:
        return False
    if rule.protocol is not None and packet.protocol != rule.protocol:
        return False
    for port_range, port in ((rule.source_port_range, packet.sport), (rule.destination_port_range, packet.dport)):
        if port_range is None:
            continue
        if port is None or packet.protocol not in PORT_PROTOCOLS:
            return False
        if not port_range.from_port <= port <= port_range.to_port:
            return False
    return True


Decision = namedtuple("Decision", ["action", "rule"])


def decide(rules, packet):
    """AWS's filter decision for one direction: the first rule (by rule number)
    matching ``packet`` decides. Returns a Decision(action, rule) with action
    "accept" or "reject", or None when no rule matches (= not mirrored)."""
    for rule in sorted(rules, key=lambda r: r.rule_number):
        if rule_matches(rule, packet):
            return Decision(rule.rule_action, rule)
    return None


def first_mirroring_session(sessions, direction, packet):
    """Which session mirrors ``packet``: ``sessions`` is an iterable of
    (session_number, MirrorFilter, key); returns (key, rule) of the first
    session (ascending session number) whose filter accepts the packet, or None.
    A reject only means "not by this session"."""
    for _number, mirror_filter, key in sorted(sessions, key=lambda s: s[0]):
        decision = decide(mirror_filter.rules(direction), packet)
        if decision is not None and decision.action == "accept":
            return key, decision.rule
    return None


# ---------------------------------------------------------------- frame level


class Frame(object):
    """What the reference needs from an Ethernet frame."""

    __slots__ = ("ethertype", "version", "src", "dst", "protocol", "sport", "dport", "l4", "headers_end")

    def __init__(
        self, ethertype, version=None, src=None, dst=None, protocol=None, sport=None, dport=None, l4=b"", headers_end=14
    ):
        self.ethertype = ethertype
        self.version = version
        self.src = src
        self.dst = dst
        self.protocol = protocol
        self.sport = sport
        self.dport = dport
        self.l4 = l4
        self.headers_end = headers_end  # offset of the transport header (after IP options and IPv6 extension headers)

    def packet(self):
        return Packet(self.src, self.dst, self.protocol, self.sport, self.dport)


def parse_frame(frame):
    """Parse an Ethernet frame (bytes) into a Frame."""
    if len(frame) < 14:
        return Frame(None)
    ethertype = struct.unpack("!H", frame[12:14])[0]
    payload = frame[14:]
    if ethertype == ETH_P_IP and len(payload) >= 20 and payload[0] >> 4 == 4:
        ihl = (payload[0] & 0x0F) * 4
        protocol = payload[9]
        src = ipaddress.IPv4Address(payload[12:16])
        dst = ipaddress.IPv4Address(payload[16:20])
        fragment_offset = struct.unpack("!H", payload[6:8])[0] & 0x1FFF
        l4 = payload[ihl:]
        sport = dport = None
        if protocol in (6, 17) and fragment_offset == 0 and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
        return Frame(ethertype, 4, src, dst, protocol, sport, dport, l4 if fragment_offset == 0 else b"", 14 + ihl)
    if ethertype == ETH_P_IPV6 and len(payload) >= 40 and payload[0] >> 4 == 6:
        src = ipaddress.IPv6Address(payload[8:24])
        dst = ipaddress.IPv6Address(payload[24:40])
        next_header = payload[6]
        offset = 40
        first_fragment = True
        while next_header in IPV6_EXTENSION_HEADERS + (IPV6_FRAGMENT,) and len(payload) >= offset + 8:
            if next_header == IPV6_FRAGMENT:
                first_fragment = (struct.unpack("!H", payload[offset + 2 : offset + 4])[0] >> 3) == 0
                following, length = payload[offset], 8
            else:
                following, length = payload[offset], (payload[offset + 1] + 1) * 8
            next_header = following
            offset += length
        l4 = payload[offset:]
        sport = dport = None
        if next_header in (6, 17) and first_fragment and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
        return Frame(ethertype, 6, src, dst, next_header, sport, dport, l4 if first_fragment else b"", 14 + offset)
    return Frame(ethertype)


def _icmp_error_about(frame, address, port):
    """True when ``frame`` is an ICMP error quoting a UDP packet to address:port."""
    l4 = frame.l4
    if frame.version == 4 and address.version == 4 and frame.protocol == 1 and len(l4) >= 8 + 20 + 4:
        if l4[0] not in ICMP_ERROR_TYPES:
            return False
        inner = l4[8:]
        return inner[9] == 17 and inner[16:20] == address.packed and struct.unpack("!H", inner[22:24])[0] == port
    if frame.version == 6 and address.version == 6 and frame.protocol == 58 and len(l4) >= 8 + 40 + 4:
        if l4[0] not in ICMPV6_ERROR_TYPES:
            return False
        inner = l4[8:]
        return inner[6] == 17 and inner[24:40] == address.packed and struct.unpack("!H", inner[42:44])[0] == port
    return False


def never_mirrored(frame, targets):
    """The reason a frame is never mirrored, or None. ``targets``: (address, port) pairs."""
    if frame.version is None:
        return "non-ip"
    for address, port in targets:
        if frame.version == address.version and frame.protocol == 17 and frame.dst == address and frame.dport == port:
            return "copies"
        if _icmp_error_about(frame, address, port):
            return "icmp-about-copies"
    if frame.protocol == 17:
        ports = render.DHCP_V4_PORTS if frame.version == 4 else render.DHCP_V6_PORTS
        if frame.sport in ports or frame.dport in ports:
            return "dhcp"
    special = render.NEVER_MIRRORED_V4 if frame.version == 4 else render.NEVER_MIRRORED_V6
    special = {ipaddress.ip_address(a) for a in special}
    if frame.src in special or frame.dst in special:
        return "metadata"
    return None


def is_amazon_dns(frame):
    if frame.protocol not in (6, 17):
        return False
    servers = render.AMAZON_DNS_V4 if frame.version == 4 else render.AMAZON_DNS_V6
    servers = {ipaddress.ip_address(a) for a in servers}
    return (frame.dst in servers and frame.dport == 53) or (frame.src in servers and frame.sport == 53)


class Verdict(object):
    __slots__ = ("session", "rule", "excluded", "evaluated")

    def __init__(self, session=None, rule=None, excluded=None, evaluated=()):
        self.session = session  # the Session that mirrors, or None
        self.rule = rule  # rule number or "amazon-dns" that decided in that session
        self.excluded = excluded  # reason when never mirrored
        self.evaluated = evaluated  # [(session name, rule number or "amazon-dns", action)] of every rule that matched

    def __repr__(self):
        return "Verdict(session=%r, rule=%r, excluded=%r)" % (
            self.session and self.session.name,
            self.rule,
            self.excluded,
        )


def evaluate(config, interface, direction, frame_bytes):
    """The agent's decision for one frame seen on ``interface`` in ``direction``."""
    frame = parse_frame(frame_bytes)
    targets = sorted(
        {(s.target.address, s.target.port) for s in config.sessions}, key=lambda t: (t[0].version, str(t[0]), t[1])
    )
    reason = never_mirrored(frame, targets)
    if reason is not None:
        return Verdict(excluded=reason)
    packet = frame.packet()
    matched = []
    for session in sorted(config.sessions_on(interface), key=lambda s: s.session_number):
        if is_amazon_dns(frame):
            if "amazon-dns" in session.filter.network_services:
                matched.append((session.name, "amazon-dns", "accept"))
                return Verdict(session, "amazon-dns", evaluated=matched)
            matched.append((session.name, "amazon-dns", "skip"))
            continue
        decision = decide(session.filter.rules(direction), packet)
        if decision is None:
            continue
        matched.append((session.name, decision.rule.rule_number, decision.action))
        if decision.action == "accept":
            return Verdict(session, decision.rule.rule_number, evaluated=matched)
    return Verdict(evaluated=matched)


def copy_bytes(frame_bytes, length, kernel_floor=False):
    """The inner frame a copy carries: the frame truncated to ``length`` (None = whole).

    With ``kernel_floor``, as the kernel truncates: never into the IP headers
    (it keeps at least up to the transport header it knows; see bpf.py)."""
    if not length:
        return frame_bytes
    if kernel_floor:
        length = max(length, parse_frame(frame_bytes).headers_end)
    return frame_bytes[:length]
