"""Compile a Config into the kernel objects that implement it (pure, no kernel access).

Output (a Plan):
- one nftables table ``netdev traffic_mirror_agent`` with, per source interface,
  a base chain on the ingress hook and one on the egress hook. They send IPv4
  and IPv6 to a chain per family (one verdict-map lookup; non-IP such as ARP
  is never mirrored), which skips what is never mirrored (DHCP, the instance
  metadata and other link-local service addresses, the agent's own VXLAN
  copies and ICMP errors about them; the port-based ones in a side chain that
  only UDP and ICMP packets enter), then jumps to one chain per session,
  direction and family in ascending session number. Every packet thus meets
  only the rules of its own family, and TCP skips the UDP/ICMP exclusions:
  that is most of the per-packet cost when a filter matches little (see
  docs/performance.md). A session chain holds the filter rules in rule
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

import re

from .bpf import limit_for
from .vxlan import Device
from .vxlan import describe_step
from .vxlan import short_hash as _short_hash

TABLE = "traffic_mirror_agent"
FAMILY = "netdev"
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


def chain_key(interface):
    """A chain-name-safe key for an interface name."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", interface)
    if safe != interface:
        safe = "%s_%s" % (safe, _short_hash(interface, 6))
    return safe


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
    __slots__ = (
        "config",
        "devices",
        "ruleset",
        "chains",
        "refs",
        "digest",
        "session_devices",
        "datapaths",
        "hooks",
        "programs",
    )

    def __init__(self, config, devices, ruleset, chains, refs, digest, session_devices, datapaths, hooks=None):
        self.config = config
        self.devices = devices  # name -> Device
        self.ruleset = ruleset  # nft script (without the replace preamble)
        self.chains = chains  # chain name -> list of rule comments, in order
        self.refs = refs  # comment -> RuleRef
        self.digest = digest
        self.session_devices = session_devices  # session name -> device name
        self.datapaths = datapaths  # interface -> "ebpf" or "nftables"
        self.hooks = hooks or {}  # base chain name -> (hook, device)
        self.programs = {}  # compiler.program_for()'s cache: status and apply need a program up to three times

    def interfaces_on(self, datapath):
        return sorted(i for i, d in self.datapaths.items() if d == datapath)

    def targets(self):
        return {(s.target.address, s.target.port) for s in self.config.sessions}

    def nft_script(self, table_exists=True):
        """The nft -f input that replaces the agent's table atomically."""
        head = "table %s %s\ndelete table %s %s\n" % (FAMILY, TABLE, FAMILY, TABLE)
        return head + self.ruleset

    def commands(self):
        """Shell-like lines for the device part (for render)."""
        lines = []
        for device in sorted(self.devices.values(), key=lambda d: d.name):
            lines.extend(describe_step(device, step) for step in device.setup_steps())
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


def copy_limit(session, underlay_mtu):
    """The most bytes a copy may keep when the kernel refuses to trim it to copy_length() (it will not cut
    into headers it knows): copy_length() + bpf.MAX_EXTRA, never more than the underlay MTU minus the
    encapsulation. The truncation program drops (and counts) a copy it cannot trim to this. None = no
    truncation."""
    length = copy_length(session, underlay_mtu)
    if length is None:
        return None
    cap = underlay_mtu - VXLAN_OVERHEAD[session.target.address.version] if underlay_mtu else None
    return limit_for(length, cap)


def _addr_set(addresses):
    if len(addresses) == 1:
        return addresses[0]
    return "{ %s }" % ", ".join(addresses)


def named_sets():
    """The sets every interface's rules share, declared once per table: an
    anonymous set literal in a rule is a kernel set object of its own, and
    thousands of them make ``nft -f`` ten times slower at 100 interfaces
    (docs/performance.md). Protocols are numbers: nft resolves names through
    /etc/protocols, which minimal hosts lack."""
    return [
        ("icmp_errors4", "icmp_type", ICMP_ERRORS),
        ("icmp_errors6", "icmpv6_type", ICMPV6_ERRORS),
        ("dhcp_ports4", "inet_service", [str(p) for p in DHCP_V4_PORTS]),
        ("dhcp_ports6", "inet_service", [str(p) for p in DHCP_V6_PORTS]),
        ("never_mirrored4", "ipv4_addr", NEVER_MIRRORED_V4),
        ("never_mirrored6", "ipv6_addr", NEVER_MIRRORED_V6),
        ("udp_icmp4", "inet_proto", ("17", "1")),
        ("udp_icmp6", "inet_proto", ("17", "58")),
        ("tcp_udp", "inet_proto", ("6", "17")),
    ]


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


def _exclusions(targets, family):
    """What is never mirrored, for one address family: (port_based, address_based)
    lists of (comment, nft rule). Port-based ones look at the transport header
    (and run only for UDP and ICMP packets); address-based ones at addresses only."""
    port_based = []
    for address, port in sorted(targets, key=lambda t: (t[0].version, str(t[0]), t[1])):
        if address.version != family:
            continue
        tag = "%s:%d" % (address, port)
        if family == 4:
            port_based.append(
                ("tma|x|copies %s" % tag, "meta protocol ip ip daddr %s udp dport %d counter accept" % (address, port))
            )
            # ICMP error quoting a copy: inner IPv4 header at transport+8 (IHL 5): protocol, daddr, UDP dport.
            port_based.append(
                (
                    "tma|x|icmp-about-copies %s" % tag,
                    "meta protocol ip icmp type @icmp_errors4 @th,136,8 17 @th,192,32 %s @th,240,16 %d counter accept"
                    % (_hex(address), port),
                )
            )
        else:
            port_based.append(
                (
                    "tma|x|copies %s" % tag,
                    "meta protocol ip6 ip6 daddr %s udp dport %d counter accept" % (address, port),
                )
            )
            # inner IPv6 header at transport+8: next header, daddr, UDP dport.
            port_based.append(
                (
                    "tma|x|icmp-about-copies %s" % tag,
                    "meta protocol ip6 icmpv6 type @icmp_errors6 @th,112,8 17 @th,256,128 %s @th,400,16 %d "
                    "counter accept" % (_hex(address), port),
                )
            )
    if family == 4:
        port_based += [
            ("tma|x|dhcp", "meta protocol ip udp sport @dhcp_ports4 counter accept"),
            ("tma|x|dhcp", "meta protocol ip udp dport @dhcp_ports4 counter accept"),
        ]
        address_based = [
            ("tma|x|metadata", "meta protocol ip ip daddr @never_mirrored4 counter return"),
            ("tma|x|metadata", "meta protocol ip ip saddr @never_mirrored4 counter return"),
        ]
    else:
        port_based += [
            ("tma|x|dhcpv6", "meta protocol ip6 udp sport @dhcp_ports6 counter accept"),
            ("tma|x|dhcpv6", "meta protocol ip6 udp dport @dhcp_ports6 counter accept"),
        ]
        address_based = [
            ("tma|x|metadata", "meta protocol ip6 ip6 daddr @never_mirrored6 counter return"),
            ("tma|x|metadata", "meta protocol ip6 ip6 saddr @never_mirrored6 counter return"),
        ]
    return port_based, address_based


def _dns_matches(family):
    """(index, match) pairs for Amazon DNS traffic of one family; the index names the rule's comment."""
    if family == 4:
        return [
            (0, "meta protocol ip ip daddr %s meta l4proto @tcp_udp th dport 53" % _addr_set(AMAZON_DNS_V4)),
            (1, "meta protocol ip ip saddr %s meta l4proto @tcp_udp th sport 53" % _addr_set(AMAZON_DNS_V4)),
        ]
    return [
        (2, "meta protocol ip6 ip6 daddr %s meta l4proto @tcp_udp th dport 53" % _addr_set(AMAZON_DNS_V6)),
        (3, "meta protocol ip6 ip6 saddr %s meta l4proto @tcp_udp th sport 53" % _addr_set(AMAZON_DNS_V6)),
    ]


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', "'")


def _family_chain(hook, family, key, suffix=""):
    return "%s%d%s_%s" % (hook[:2], family, suffix, key)


def _session_chain(session, hook, family, key, first_fragment):
    return "s%d_%s%d_%s%s" % (session.session_number, hook[:2], family, key, "" if first_fragment else "_fr")


class _Ruleset(object):
    """The nft table's chains as text, with each rule's comment recorded per
    chain (``chains``, for compare) and the rules status reports (``refs``)."""

    def __init__(self, targets, session_devices):
        self.targets = targets
        self.session_devices = session_devices
        self.chains = {}
        self.refs = {}
        self.body = []
        self.hooks = {}

    def chain(self, name, rules, header=None):
        """``rules``: (comment, nft text, RuleRef or None) triples."""
        self.chains[name] = [comment for comment, _text, _ref in rules]
        self.body.append("\tchain %s {" % name)
        if header:
            self.body.append("\t\t" + header)
        for comment, text, ref in rules:
            if ref is not None:
                self.refs[comment] = ref
            self.body.append("\t\t%s comment %s" % (text, _quote(comment)))
        self.body.append("\t}")

    def interface(self, interface, sessions):
        key = chain_key(interface)
        for direction in ("ingress", "egress"):
            hook = direction
            # goto, not jump: when a family chain ends, the evaluation ends (policy accept)
            family_map = "meta protocol vmap { ip : goto %s, ip6 : goto %s }" % (
                _family_chain(hook, 4, key),
                _family_chain(hook, 6, key),
            )
            self.hooks["%s_%s" % (hook[:2], key)] = (hook, interface)
            self.chain(
                "%s_%s" % (hook[:2], key),
                [("tma|path|family", family_map, None), ("tma|x|non-ip", "counter", None)],
                header="type filter hook %s device %s priority %d; policy accept;"
                % (hook, _quote(interface), HOOK_PRIORITY),
            )
            for family in (4, 6):
                self.family(key, direction, family, sessions)
                for session in sessions:
                    self.session(key, direction, family, session)

    def family(self, key, direction, family, sessions):
        """One interface, direction and address family: exclusions, a jump to
        each session's chain in session order, then the no-match counter.
        Non-first fragments carry no transport header: they skip every
        port-based match (exclusions, Amazon DNS, rules with port ranges) in a
        parallel chain."""
        hook = direction
        port_based, address_based = _exclusions(self.targets, family)
        whole = _family_chain(hook, family, key)
        fragments = _family_chain(hook, family, key, "f")
        ports = _family_chain(hook, family, key, "x")
        # port-based exclusions, entered only by UDP and ICMP packets (they accept: evaluation done)
        self.chain(ports, [(comment, text, None) for comment, text in port_based])
        if family == 4:
            first = [
                ("tma|fragments", "meta protocol ip ip frag-off & 0x1fff != 0 goto %s" % fragments, None),
                ("tma|path|ports", "meta l4proto @udp_icmp4 jump %s" % ports, None),
            ]
        else:
            first = [
                ("tma|fragments", "meta protocol ip6 frag frag-off != 0 goto %s" % fragments, None),
                ("tma|path|ports", "meta l4proto @udp_icmp6 jump %s" % ports, None),
            ]
        for chain, first_fragment in ((whole, True), (fragments, False)):
            rules = list(first) if first_fragment else []
            rules += [(comment, text, None) for comment, text in address_based]
            for session in sessions:
                target = _session_chain(session, hook, family, key, first_fragment)
                rules.append(("tma|%s|%s|jump" % (session.name, direction), "jump %s" % target, None))
            # reached only when no session accepted the packet
            rules.append(("tma|x|no-match", "counter", None))
            self.chain(chain, rules)

    def session(self, key, direction, family, session):
        """One session's rules of one family, in rule number order."""
        dup = "counter dup to %s accept" % _quote(self.session_devices[session.name])
        dns_on = "amazon-dns" in session.filter.network_services
        for first_fragment in (True, False):
            rules = []
            if first_fragment:
                for index, match in _dns_matches(family):
                    comment = "tma|%s|%s|amazon-dns-%d" % (session.name, direction, index)
                    ref = RuleRef(comment, session.name, direction, "amazon-dns", "accept" if dns_on else "skip")
                    rules.append((comment, "%s %s" % (match, dup if dns_on else "counter return"), ref))
            for rule in session.filter.rules(direction):
                if rule.family != family:
                    continue
                if not first_fragment and (rule.source_port_range or rule.destination_port_range):
                    continue
                comment = "tma|%s|%s|%d" % (session.name, direction, rule.rule_number)
                ref = RuleRef(comment, session.name, direction, rule.rule_number, rule.rule_action)
                rules.append((comment, "%s %s" % (_rule_match(rule), dup if rule.accept else "counter return"), ref))
            self.chain(_session_chain(session, direction, family, key, first_fragment), rules)


def build_plan(config, underlay_mtus=None, datapaths=None):
    """Compile ``config`` into a Plan. ``underlay_mtus`` maps a target address
    (ipaddress object) to the MTU of its route, for the copy-length cap;
    ``datapaths`` an interface to "ebpf" or "nftables" (default nftables)."""
    underlay_mtus = underlay_mtus or {}
    datapaths = {i: (datapaths or {}).get(i, "nftables") for i in config.interfaces()}
    devices = {}
    session_devices = {}
    for session in config.sessions:
        mtu = underlay_mtus.get(session.target.address)
        length = copy_length(session, mtu)
        limit = copy_limit(session, mtu)
        device = Device(session.virtual_network_id, session.target.address, session.target.port, length, limit)
        device = devices.setdefault(device.name, device)
        if (device.address, device.copy_length) != (session.target.address, length):
            raise ValueError(
                "sessions %s and %s share a vxlan device but differ in target or copy length"
                % (device.sessions[0], session.name)
            )
        device.sessions.append(session.name)
        session_devices[session.name] = device.name
    ruleset = _Ruleset({(s.target.address, s.target.port) for s in config.sessions}, session_devices)
    for interface in config.interfaces():
        if datapaths[interface] == "nftables":
            ruleset.interface(interface, config.sessions_on(interface))
    chains, refs, body = ruleset.chains, ruleset.refs, ruleset.body

    device_spec = ";".join("%s=%s" % (d.name, d.alias) for d in sorted(devices.values(), key=lambda d: d.name))
    digest = _short_hash("\n".join(body) + "\n" + device_spec, 16)
    state_comment = "tma|state|%s" % digest
    if not [i for i in datapaths if datapaths[i] == "nftables"]:
        chains = {}  # no interface on nftables: no table
    else:
        chains["state"] = [state_comment]
    text = [
        "table %s %s {" % (FAMILY, TABLE),
        "\tchain state {",
        "\t\tcounter comment %s" % _quote(state_comment),
        "\t}",
    ]
    for name, kind, elements in named_sets():
        text.append("\tset %s {\n\t\ttype %s\n\t\telements = { %s }\n\t}" % (name, kind, ", ".join(elements)))
    text.extend(body)
    text.append("}")
    return Plan(
        config, devices, "\n".join(text) + "\n", chains, refs, digest, session_devices, datapaths, ruleset.hooks
    )
