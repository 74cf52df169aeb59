"""Compile a Config into the kernel objects that implement it (pure, no kernel access).

Output (a Plan):
- one nftables table ``netdev traffic_mirror_agent`` with, per source interface,
  a base chain on the ingress hook and one on the egress hook; they first
  skip what is never mirrored (non-IP such as ARP, DHCP, the instance metadata
  and other link-local service addresses, the agent's own VXLAN copies and ICMP
  errors about them), then jump to one chain per session and direction in
  ascending session number. A session chain holds the filter rules in rule
  number order: accept = ``counter dup to "<vxlan dev>" accept`` (the copy is
  made, and ``accept`` ends the evaluation so no later session sees it), reject
  = ``counter return`` (not by this session; the next session evaluates it).
- one vxlan device per (VNI, target port, target address family) (the kernel
  allows no more), named ``tma`` + 10 hex digits of a hash of those, with the
  target as its remote, IPv6 off, ARP off, with an
  alias marking it as the agent's, and (when a copy length applies) a cls_bpf
  truncation program on its egress.
Every rule carries a comment ``tma|<session>|<direction>|<rule>`` that status
uses to find its counter.
"""

import hashlib
import re

from .config import DEVICE_PREFIX

TABLE = "traffic_mirror_agent"
FAMILY = "netdev"
ALIAS_PREFIX = "traffic_mirror_agent"
HOOK_PRIORITY = 0
VXLAN_OVERHEAD = {4: 20 + 8 + 8, 6: 40 + 8 + 8}  # outer IP + UDP + VXLAN; the inner Ethernet header is the copy's own

# Never mirrored (AWS): instance metadata, Amazon Time Sync (NTP), Windows activation.
NEVER_MIRRORED_V4 = ("169.254.169.254", "169.254.169.123", "169.254.169.250", "169.254.169.251")
NEVER_MIRRORED_V6 = ("fd00:ec2::254", "fd00:ec2::123")
# Amazon DNS: mirrored only by a session whose filter has network service amazon-dns.
AMAZON_DNS_V4 = ("169.254.169.253",)
AMAZON_DNS_V6 = ("fd00:ec2::253",)
DHCP_V4_PORTS = (67, 68)
DHCP_V6_PORTS = (546, 547)
ICMP_ERRORS = ("destination-unreachable", "source-quench", "time-exceeded", "parameter-problem")
ICMPV6_ERRORS = ("destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem")


def _short_hash(text, length=10):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def chain_key(interface):
    """A chain-name-safe key for an interface name."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", interface)
    if safe != interface:
        safe = "%s_%s" % (safe, _short_hash(interface, 6))
    return safe


class Device(object):
    """A vxlan device the agent creates for one or more sessions."""

    __slots__ = ("name", "vni", "address", "port", "copy_length", "sessions")

    def __init__(self, vni, address, port, copy_length):
        self.vni = vni
        self.address = address
        self.port = port
        self.copy_length = copy_length
        self.sessions = []
        # The kernel allows one vxlan device per (VNI, port, address family): that
        # is the device's identity; target and copy length can change in place.
        spec = "%d/%d/ipv%d" % (vni, port, address.version)
        self.name = DEVICE_PREFIX + _short_hash(spec, 10)

    @property
    def alias(self):
        return "%s vni=%d target=%s:%d length=%s" % (
            ALIAS_PREFIX,
            self.vni,
            self.address,
            self.port,
            self.copy_length or "full",
        )

    def create_args(self):
        """``ip link add`` arguments."""
        return [
            "link",
            "add",
            self.name,
            "type",
            "vxlan",
            "id",
            str(self.vni),
            "remote",
            str(self.address),
            "dstport",
            str(self.port),
            "nolearning",
        ]

    def to_dict(self):
        return {
            "name": self.name,
            "vni": self.vni,
            "target": str(self.address),
            "port": self.port,
            "copy_length": self.copy_length,
            "sessions": list(self.sessions),
        }


class RuleRef(object):
    """What a rule comment stands for (status maps counters back with it)."""

    __slots__ = ("comment", "session", "direction", "rule", "action")

    def __init__(self, comment, session, direction, rule, action):
        self.comment = comment
        self.session = session
        self.direction = direction
        self.rule = rule
        self.action = action


class Plan(object):
    __slots__ = ("config", "devices", "ruleset", "chains", "refs", "digest", "session_devices")

    def __init__(self, config, devices, ruleset, chains, refs, digest, session_devices):
        self.config = config
        self.devices = devices  # name -> Device
        self.ruleset = ruleset  # nft script (without the replace preamble)
        self.chains = chains  # chain name -> list of rule comments, in order
        self.refs = refs  # comment -> RuleRef
        self.digest = digest
        self.session_devices = session_devices  # session name -> device name

    def nft_script(self, table_exists=True):
        """The nft -f input that replaces the agent's table atomically."""
        head = "table %s %s\ndelete table %s %s\n" % (FAMILY, TABLE, FAMILY, TABLE)
        return head + self.ruleset

    def commands(self):
        """Shell-like lines for the device part (for render)."""
        lines = []
        for device in sorted(self.devices.values(), key=lambda d: d.name):
            lines.append("ip %s" % " ".join(device.create_args()))
            lines.append("ip link set dev %s alias %r" % (device.name, device.alias))
            lines.append("sysctl -w net.ipv6.conf.%s.disable_ipv6=1" % device.name)
            lines.append("ip link set dev %s arp off up" % device.name)
            if device.copy_length:
                lines.append(
                    "tc qdisc add dev %s clsact; "
                    "tc filter add dev %s egress bpf da object-pinned <truncate to %d bytes>"
                    % (device.name, device.name, device.copy_length)
                )
        return lines


def copy_length(session, underlay_mtu):
    """Bytes kept of each copy, counted from the inner Ethernet header: the
    session's packet_length, capped so that the copy plus the encapsulation fits
    the underlay MTU (truncated, never fragmented). None = whole packet, no cap
    known."""
    cap = None
    if underlay_mtu:
        cap = underlay_mtu - VXLAN_OVERHEAD[session.target.address.version]
    lengths = [x for x in (session.packet_length, cap) if x]
    return min(lengths) if lengths else None


def _addr_set(addresses):
    if len(addresses) == 1:
        return addresses[0]
    return "{ %s }" % ", ".join(addresses)


def _hex(address):
    return "0x" + address.packed.hex()


def _rule_match(rule):
    """nft match expression for one FilterRule."""
    if rule.family == 4:
        parts = ["meta protocol ip"]
        keyword = "ip"
    else:
        parts = ["meta protocol ip6"]
        keyword = "ip6"
    if rule.source_cidr_block.prefixlen:
        parts.append("%s saddr %s" % (keyword, rule.source_cidr_block))
    if rule.destination_cidr_block.prefixlen:
        parts.append("%s daddr %s" % (keyword, rule.destination_cidr_block))
    if rule.protocol is not None:
        parts.append("meta l4proto %d" % rule.protocol)
    for name, port_range in (("sport", rule.source_port_range), ("dport", rule.destination_port_range)):
        if port_range is None:
            continue
        if port_range.from_port == port_range.to_port:
            parts.append("th %s %d" % (name, port_range.from_port))
        else:
            parts.append("th %s %d-%d" % (name, port_range.from_port, port_range.to_port))
    return " ".join(parts)


def _exclusions(targets):
    """(comment, nft rule) pairs for what is never mirrored: those that look at
    the transport header, and those that look at addresses only."""
    out = []
    for address, port in sorted(targets, key=lambda t: (t[0].version, str(t[0]), t[1])):
        tag = "%s:%d" % (address, port)
        if address.version == 4:
            out.append(
                ("tma|x|copies %s" % tag, "meta protocol ip ip daddr %s udp dport %d counter return" % (address, port))
            )
            # ICMP error quoting a copy: inner IPv4 header at transport+8 (IHL 5): protocol, daddr, UDP dport.
            out.append(
                (
                    "tma|x|icmp-about-copies %s" % tag,
                    "meta protocol ip icmp type { %s } @th,136,8 17 @th,192,32 %s @th,240,16 %d counter return"
                    % (", ".join(ICMP_ERRORS), _hex(address), port),
                )
            )
        else:
            out.append(
                (
                    "tma|x|copies %s" % tag,
                    "meta protocol ip6 ip6 daddr %s udp dport %d counter return" % (address, port),
                )
            )
            # inner IPv6 header at transport+8: next header, daddr, UDP dport.
            out.append(
                (
                    "tma|x|icmp-about-copies %s" % tag,
                    "meta protocol ip6 icmpv6 type { %s } @th,112,8 17 @th,256,128 %s @th,400,16 %d counter return"
                    % (", ".join(ICMPV6_ERRORS), _hex(address), port),
                )
            )
    ports4 = ", ".join(str(p) for p in DHCP_V4_PORTS)
    ports6 = ", ".join(str(p) for p in DHCP_V6_PORTS)
    out += [
        ("tma|x|dhcp", "meta protocol ip udp sport { %s } counter return" % ports4),
        ("tma|x|dhcp", "meta protocol ip udp dport { %s } counter return" % ports4),
        ("tma|x|dhcpv6", "meta protocol ip6 udp sport { %s } counter return" % ports6),
        ("tma|x|dhcpv6", "meta protocol ip6 udp dport { %s } counter return" % ports6),
    ]
    by_address = [
        ("tma|x|metadata", "meta protocol ip ip daddr %s counter return" % _addr_set(NEVER_MIRRORED_V4)),
        ("tma|x|metadata", "meta protocol ip ip saddr %s counter return" % _addr_set(NEVER_MIRRORED_V4)),
        ("tma|x|metadata", "meta protocol ip6 ip6 daddr %s counter return" % _addr_set(NEVER_MIRRORED_V6)),
        ("tma|x|metadata", "meta protocol ip6 ip6 saddr %s counter return" % _addr_set(NEVER_MIRRORED_V6)),
    ]
    return out, by_address


def _dns_matches():
    return [
        "meta protocol ip ip daddr %s meta l4proto { 6, 17 } th dport 53" % _addr_set(AMAZON_DNS_V4),
        "meta protocol ip ip saddr %s meta l4proto { 6, 17 } th sport 53" % _addr_set(AMAZON_DNS_V4),
        "meta protocol ip6 ip6 daddr %s meta l4proto { 6, 17 } th dport 53" % _addr_set(AMAZON_DNS_V6),
        "meta protocol ip6 ip6 saddr %s meta l4proto { 6, 17 } th sport 53" % _addr_set(AMAZON_DNS_V6),
    ]


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', "'")


def build_plan(config, underlay_mtus=None):
    """Compile ``config`` into a Plan. ``underlay_mtus`` maps a target address
    (ipaddress object) to the MTU of its route, for the copy-length cap."""
    underlay_mtus = underlay_mtus or {}
    devices = {}
    session_devices = {}
    for session in config.sessions:
        length = copy_length(session, underlay_mtus.get(session.target.address))
        device = Device(session.virtual_network_id, session.target.address, session.target.port, length)
        device = devices.setdefault(device.name, device)
        if (device.address, device.copy_length) != (session.target.address, length):
            raise ValueError(
                "sessions %s and %s share a vxlan device but differ in target or copy length"
                % (device.sessions[0], session.name)
            )
        device.sessions.append(session.name)
        session_devices[session.name] = device.name
    targets = {(s.target.address, s.target.port) for s in config.sessions}

    chains = {}
    refs = {}
    body = []

    def add_rule(chain, comment, text, ref=None):
        chains[chain].append(comment)
        if ref is not None:
            refs[comment] = ref
        return "\t\t%s comment %s" % (text, _quote(comment))

    for interface in config.interfaces():
        key = chain_key(interface)
        sessions = config.sessions_on(interface)
        for direction, hook in (("ingress", "ingress"), ("egress", "egress")):
            base = "%s_%s" % (hook[:2], key)
            fragments = "fr_%s_%s" % (hook[:2], key)
            port_based, address_based = _exclusions(targets)
            # Non-first fragments carry no transport header: they skip every
            # port-based match (exclusions, Amazon DNS, rules with port ranges)
            # in a parallel set of chains.
            for chain, first_fragment in ((base, True), (fragments, False)):
                chains[chain] = []
                if first_fragment:
                    lines = [
                        "\tchain %s {" % chain,
                        "\t\ttype filter hook %s device %s priority %d; policy accept;"
                        % (hook, _quote(interface), HOOK_PRIORITY),
                        add_rule(chain, "tma|x|non-ip", "meta protocol != { ip, ip6 } counter return"),
                        add_rule(
                            chain, "tma|fragments", "meta protocol ip ip frag-off & 0x1fff != 0 goto %s" % fragments
                        ),
                        add_rule(chain, "tma|fragments", "meta protocol ip6 frag frag-off != 0 goto %s" % fragments),
                    ]
                    exclusions = port_based + address_based
                else:
                    lines = ["\tchain %s {" % chain]
                    exclusions = address_based
                for comment, text in exclusions:
                    lines.append(add_rule(chain, comment, text))
                for session in sessions:
                    target = "s%d_%s_%s%s" % (
                        session.session_number,
                        direction[:2],
                        key,
                        "" if first_fragment else "_fr",
                    )
                    lines.append(add_rule(chain, "tma|%s|%s|jump" % (session.name, direction), "jump %s" % target))
                # reached only when no session accepted the packet
                lines.append(add_rule(chain, "tma|x|no-match", "counter"))
                lines.append("\t}")
                body.extend(lines)
            for session in sessions:
                device = session_devices[session.name]
                dup = "counter dup to %s accept" % _quote(device)
                dns_on = "amazon-dns" in session.filter.network_services
                for first_fragment in (True, False):
                    chain = "s%d_%s_%s%s" % (
                        session.session_number,
                        direction[:2],
                        key,
                        "" if first_fragment else "_fr",
                    )
                    chains[chain] = []
                    lines = ["\tchain %s {" % chain]
                    if first_fragment:
                        for index, match in enumerate(_dns_matches()):
                            comment = "tma|%s|%s|amazon-dns-%d" % (session.name, direction, index)
                            action = "accept" if dns_on else "skip"
                            lines.append(
                                add_rule(
                                    chain,
                                    comment,
                                    "%s %s" % (match, dup if dns_on else "counter return"),
                                    RuleRef(comment, session.name, direction, "amazon-dns", action),
                                )
                            )
                    for rule in session.filter.rules(direction):
                        if not first_fragment and (rule.source_port_range or rule.destination_port_range):
                            continue
                        comment = "tma|%s|%s|%d" % (session.name, direction, rule.rule_number)
                        action = dup if rule.accept else "counter return"
                        lines.append(
                            add_rule(
                                chain,
                                comment,
                                "%s %s" % (_rule_match(rule), action),
                                RuleRef(comment, session.name, direction, rule.rule_number, rule.rule_action),
                            )
                        )
                    lines.append("\t}")
                    body.extend(lines)

    device_spec = ";".join("%s=%s" % (d.name, d.alias) for d in sorted(devices.values(), key=lambda d: d.name))
    digest = _short_hash("\n".join(body) + "\n" + device_spec, 16)
    state_comment = "tma|state|%s" % digest
    chains["state"] = [state_comment]
    text = [
        "table %s %s {" % (FAMILY, TABLE),
        "\tchain state {",
        "\t\tcounter comment %s" % _quote(state_comment),
        "\t}",
    ]
    text.extend(body)
    text.append("}")
    return Plan(config, devices, "\n".join(text) + "\n", chains, refs, digest, session_devices)
