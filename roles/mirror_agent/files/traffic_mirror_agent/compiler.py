"""Compile one interface's sessions, for one direction, into an eBPF program (pure).

The program runs as a tc clsact filter (cls_bpf, direct action) on the
mirrored interface and decides exactly as the reference evaluator and the
nftables ruleset: non-IP is never mirrored; IPv4/IPv6 headers are read with
bpf_skb_load_bytes() (works on non-linear packets too), IPv6 extension
headers (hop-by-hop, routing, destination options, fragment) are skipped;
then the exclusions (the agent's own copies and ICMP errors quoting them,
DHCP, the metadata addresses); then the sessions in ascending session number,
each with Amazon DNS first and then its rules of the direction in ascending
rule number. The first session that accepts a packet copies it with
bpf_clone_redirect() to its vxlan device; a reject means "not by this
session". Non-first fragments carry no ports: every port-based test fails for
them, as in the reference.

Every decision counts packets and frame bytes in a slot of a per-CPU array map
(``slots``: the rule comments status maps back, the same shapes as the
nftables comments). The packet always goes on (TC_ACT_UNSPEC: later tc
filters of others still run).
"""

import ipaddress

from . import asm
from . import render
from .asm import R0
from .asm import R1
from .asm import R2
from .asm import R3
from .asm import R4
from .asm import R6
from .asm import R7
from .asm import R8
from .asm import R9
from .asm import R10

FUNC_MAP_LOOKUP_ELEM = 1
FUNC_CLONE_REDIRECT = 13
FUNC_SKB_LOAD_BYTES = 26
TC_ACT_UNSPEC = -1
SKB_LEN = 0  # offsetof(struct __sk_buff, len)
SKB_PROTOCOL = 16  # offsetof(struct __sk_buff, protocol): the ethertype, network order
ETH_HLEN = 14
ETH_P_IP_LE = 0x0008  # htons(0x0800) read as a little-endian number
ETH_P_IPV6_LE = 0xDD86
# stack (below the frame pointer R10)
HDR = -40  # the IP header (IPv4: 20 bytes; IPv6: 40)
PORTS = -48  # source and destination port (network order)
EXT = -56  # an IPv6 extension header's first 8 bytes
KEY = -64  # the counter slot for the map lookup
ICMP = -128  # an ICMP error: its 8-byte header and the quoted IP + UDP header (56 bytes)
# r9 flags: what this packet carries
FIRST = 1  # not a non-first fragment (it has a transport header)
HAS_PORTS = 2  # TCP/UDP with its 4 port bytes present
ICMP_LOADED = 4  # the ICMP area holds the packet's first bytes after the IP header
IPV6_EXTENSION_HEADERS = (0, 43, 60)
IPV6_FRAGMENT = 44
MAX_IPV6_EXTENSION_HEADERS = 8  # unrolled; the reference walks the same headers
ICMP_ERRORS = {4: (3, 4, 11, 12), 6: (1, 2, 3, 4)}
ICMP_PROTOCOL = {4: 1, 6: 58}
ICMP_QUOTE = {4: 8 + 20 + 4, 6: 8 + 40 + 4}  # bytes of the ICMP payload the quote check reads
# (IP header offset of saddr, of daddr, of the protocol / next header) per family
ADDR = {4: (12, 16), 6: (8, 24)}
INNER = {4: (9, 16, 22), 6: (6, 24, 42)}  # in the quoted packet: protocol, daddr, UDP dport
EXCLUSIONS = ("non-ip", "copies", "icmp-about-copies", "dhcp", "metadata", "no-match")


def _le32(data):
    return int.from_bytes(data, "little")


class Compiled(object):
    """A program's bytes and its counter slots (slot i counts ``slots[i]``, a comment)."""

    __slots__ = ("code", "slots", "refs")

    def __init__(self, code, slots, refs):
        self.code = code
        self.slots = slots
        self.refs = refs


class _Builder(object):
    def __init__(self, interface, direction, sessions, targets, ifindexes, map_fd):
        self.a = asm.Program()
        self.interface = interface
        self.direction = direction
        self.sessions = sorted(sessions, key=lambda s: s.session_number)
        self.targets = sorted(targets, key=lambda t: (t[0].version, str(t[0]), t[1]))
        self.ifindexes = ifindexes  # session name -> ifindex of its vxlan device
        self.map_fd = map_fd
        self.slots = ["tma|x|%s" % reason for reason in EXCLUSIONS]
        self.refs = {}
        self.serial = 0

    def fresh(self, what):
        self.serial += 1
        return "%s_%d" % (what, self.serial)

    def slot(self, comment, ref=None):
        if comment not in self.slots:
            self.slots.append(comment)
        if ref is not None:
            self.refs[comment] = ref
        return self.slots.index(comment)

    # -- pieces
    def count(self, slot):
        """Add this packet to counter ``slot`` (clobbers R0-R5)."""
        a = self.a
        skip = self.fresh("counted")
        a.st(4, R10, KEY, slot)
        a.ld_map_fd(R1, self.map_fd)
        a.mov(R2, R10).add(R2, KEY)
        a.call(FUNC_MAP_LOOKUP_ELEM)
        a.jeq(R0, 0, skip)
        a.ldx(8, R1, R0, 0).add(R1, 1).stx(8, R0, 0, R1)
        a.ldx(4, R2, R6, SKB_LEN).ldx(8, R1, R0, 8).add(R1, R2).stx(8, R0, 8, R1)
        a.label(skip)

    def load(self, offset, to, length):
        """R0 = bpf_skb_load_bytes(skb, offset, fp + to, length); ``offset`` an int or a register."""
        a = self.a
        a.mov(R1, R6)
        a.mov(R2, offset)
        a.mov(R3, R10).add(R3, to)
        a.mov(R4, length)
        a.call(FUNC_SKB_LOAD_BYTES)

    def unless_flag(self, flag, target):
        self.a.mov(R2, R9).and_(R2, flag).jeq(R2, 0, target)

    def address_is(self, family, stack_offset, network, fail):
        """Fall through when the address at fp+stack_offset is in ``network``, else jump to ``fail``."""
        packed_net = network.network_address.packed
        packed_mask = network.netmask.packed
        for word in range(len(packed_net) // 4):
            mask = packed_mask[4 * word : 4 * word + 4]
            if mask == b"\0\0\0\0":
                break
            self.a.ldx(4, R2, R10, stack_offset + 4 * word)
            if mask != b"\xff\xff\xff\xff":
                self.a.alu32("and", R2, _le32(mask))
            self.a.jne(R2, _le32(packed_net[4 * word : 4 * word + 4]), fail, wide=False)

    def port_in(self, which, low, high, fail):
        """Fall through when source (0) / destination (1) port is in [low, high] (HAS_PORTS checked before)."""
        a = self.a
        a.ldx(2, R2, R10, PORTS + 2 * which).be(R2, 16)
        if low == high:
            a.jne(R2, low, fail)
            return
        if low > 0:
            a.jlt(R2, low, fail)
        if high < 65535:
            a.jgt(R2, high, fail)

    def redirect(self, session):
        a = self.a
        a.mov(R1, R6).mov(R2, self.ifindexes[session.name]).mov(R3, 0)
        a.call(FUNC_CLONE_REDIRECT)
        a.ja("pass")

    # -- the program
    def build(self):
        a = self.a
        a.mov(R6, R1)
        a.st(4, R10, PORTS, 0)  # read only with HAS_PORTS, but the verifier wants it written
        a.ldx(4, R2, R6, SKB_PROTOCOL)
        a.jeq(R2, ETH_P_IP_LE, "ipv4")
        a.jeq(R2, ETH_P_IPV6_LE, "ipv6")
        a.label("non_ip")
        self.count(0)
        a.ja("pass")
        a.label("ipv4")
        self.ipv4_header()
        self.decide(4)
        a.label("ipv6")
        self.ipv6_header()
        self.decide(6)
        a.label("pass")
        a.mov(R0, TC_ACT_UNSPEC)
        a.exit()
        return Compiled(a.assemble(), list(self.slots), dict(self.refs))

    def ipv4_header(self):
        a = self.a
        self.load(ETH_HLEN, HDR, 20)
        a.jne(R0, 0, "non_ip")
        a.ldx(1, R2, R10, HDR).mov(R3, R2).rsh(R3, 4).jne(R3, 4, "non_ip")
        a.and_(R2, 0x0F).lsh(R2, 2).mov(R8, R2).add(R8, ETH_HLEN)  # r8 = transport offset
        a.ldx(1, R7, R10, HDR + 9)  # r7 = protocol
        a.mov(R9, 0)
        a.ldx(2, R2, R10, HDR + 6).be(R2, 16).and_(R2, 0x1FFF).jne(R2, 0, "l4_4")  # a non-first fragment
        a.mov(R9, FIRST)
        self.ports(4)

    def ports(self, family):
        a = self.a
        a.jeq(R7, 6, "ports_%d" % family).jeq(R7, 17, "ports_%d" % family).ja("l4_%d" % family)
        a.label("ports_%d" % family)
        self.load(R8, PORTS, 4)
        a.jne(R0, 0, "l4_%d" % family)
        a.alu64("or", R9, HAS_PORTS)
        a.label("l4_%d" % family)

    def ipv6_header(self):
        a = self.a
        self.load(ETH_HLEN, HDR, 40)
        a.jne(R0, 0, "non_ip")
        a.ldx(1, R2, R10, HDR).rsh(R2, 4).jne(R2, 6, "non_ip")
        a.ldx(1, R7, R10, HDR + 6)  # r7 = next header
        a.mov(R8, ETH_HLEN + 40)
        a.mov(R9, FIRST)
        for _header in range(MAX_IPV6_EXTENSION_HEADERS):
            other, fragment, next_one = self.fresh("ext"), self.fresh("frag"), self.fresh("next")
            a.jeq(R7, IPV6_FRAGMENT, fragment)
            for header in IPV6_EXTENSION_HEADERS:
                a.jeq(R7, header, other)
            a.ja("ext_done")
            a.label(other)
            self.load(R8, EXT, 8)
            a.jne(R0, 0, "ext_done")
            a.ldx(1, R7, R10, EXT).ldx(1, R2, R10, EXT + 1).add(R2, 1).lsh(R2, 3).add(R8, R2)
            a.ja(next_one)
            a.label(fragment)
            self.load(R8, EXT, 8)
            a.jne(R0, 0, "ext_done")
            a.ldx(1, R7, R10, EXT).add(R8, 8).mov(R9, FIRST)
            a.ldx(2, R2, R10, EXT + 2).be(R2, 16).rsh(R2, 3).jeq(R2, 0, next_one)
            a.mov(R9, 0)  # a non-first fragment
            a.label(next_one)
        a.label("ext_done")
        a.jeq(R9, 0, "l4_6")
        self.ports(6)

    def decide(self, family):
        self.exclusions(family)
        for session in self.sessions:
            self.session(family, session)
        self.count(EXCLUSIONS.index("no-match"))
        self.a.ja("pass")

    def exclusions(self, family):
        a = self.a
        saddr, daddr = ADDR[family]
        targets = [(address, port) for address, port in self.targets if address.version == family]
        # copies: UDP to a target's address and port
        for address, port in targets:
            skip = self.fresh("not_copy")
            a.jne(R7, 17, skip)
            self.unless_flag(HAS_PORTS, skip)
            self.port_in(1, port, port, skip)
            self.address_is(family, HDR + daddr, ipaddress.ip_network(address), skip)
            self.count(EXCLUSIONS.index("copies"))
            a.ja("pass")
            a.label(skip)
        # ICMP errors quoting a copy
        if targets:
            done = self.fresh("icmp_done")
            a.jne(R7, ICMP_PROTOCOL[family], done)
            self.unless_flag(FIRST, done)
            self.load(R8, ICMP, ICMP_QUOTE[family])
            a.jne(R0, 0, done)
            a.ldx(1, R2, R10, ICMP)
            error = self.fresh("icmp_error")
            for icmp_type in ICMP_ERRORS[family]:
                a.jeq(R2, icmp_type, error)
            a.ja(done)
            a.label(error)
            protocol, inner_daddr, inner_dport = INNER[family]
            a.ldx(1, R2, R10, ICMP + 8 + protocol).jne(R2, 17, done)
            for address, port in targets:
                skip = self.fresh("not_quote")
                a.ldx(2, R2, R10, ICMP + 8 + inner_dport).be(R2, 16).jne(R2, port, skip)
                self.address_is(family, ICMP + 8 + inner_daddr, ipaddress.ip_network(address), skip)
                self.count(EXCLUSIONS.index("icmp-about-copies"))
                a.ja("pass")
                a.label(skip)
            a.label(done)
        # DHCP
        dhcp, skip = self.fresh("dhcp"), self.fresh("not_dhcp")
        a.jne(R7, 17, skip)
        self.unless_flag(HAS_PORTS, skip)
        for which in (0, 1):
            a.ldx(2, R2, R10, PORTS + 2 * which).be(R2, 16)
            for port in render.DHCP_V4_PORTS if family == 4 else render.DHCP_V6_PORTS:
                a.jeq(R2, port, dhcp)
        a.ja(skip)
        a.label(dhcp)
        self.count(EXCLUSIONS.index("dhcp"))
        a.ja("pass")
        a.label(skip)
        # metadata and the other link-local service addresses
        special = render.NEVER_MIRRORED_V4 if family == 4 else render.NEVER_MIRRORED_V6
        hit = self.fresh("metadata")
        for text in special:
            for offset in (saddr, daddr):
                miss = self.fresh("not_metadata")
                self.address_is(family, HDR + offset, ipaddress.ip_network(text), miss)
                a.ja(hit)
                a.label(miss)
        after = self.fresh("not_excluded")
        a.ja(after)
        a.label(hit)
        self.count(EXCLUSIONS.index("metadata"))
        a.ja("pass")
        a.label(after)

    def amazon_dns(self, family, session, next_session):
        a = self.a
        saddr, daddr = ADDR[family]
        servers = render.AMAZON_DNS_V4 if family == 4 else render.AMAZON_DNS_V6
        not_dns, hit, tcp_udp = self.fresh("not_dns"), self.fresh("dns"), self.fresh("dns_tcp_udp")
        a.jeq(R7, 6, tcp_udp)
        a.jne(R7, 17, not_dns)
        a.label(tcp_udp)
        self.unless_flag(HAS_PORTS, not_dns)
        for server in servers:
            for offset, which in ((daddr, 1), (saddr, 0)):
                miss = self.fresh("not_dns_server")
                self.address_is(family, HDR + offset, ipaddress.ip_network(server), miss)
                self.port_in(which, 53, 53, miss)
                a.ja(hit)
                a.label(miss)
        a.ja(not_dns)
        a.label(hit)
        on = "amazon-dns" in session.filter.network_services
        comment = "tma|%s|%s|amazon-dns" % (session.name, self.direction)
        ref = render.RuleRef(comment, session.name, self.direction, "amazon-dns", "accept" if on else "skip")
        self.count(self.slot(comment, ref))
        if on:
            self.redirect(session)
        else:
            a.ja(next_session)
        a.label(not_dns)

    def session(self, family, session):
        a = self.a
        next_session = self.fresh("next_session")
        self.amazon_dns(family, session, next_session)
        for rule in sorted(session.filter.rules(self.direction), key=lambda r: r.rule_number):
            comment = "tma|%s|%s|%d" % (session.name, self.direction, rule.rule_number)
            slot = self.slot(
                comment, render.RuleRef(comment, session.name, self.direction, rule.rule_number, rule.rule_action)
            )
            if rule.family != family:
                continue
            fail = self.fresh("rule_failed")
            saddr, daddr = ADDR[family]
            if rule.source_cidr_block.prefixlen:
                self.address_is(family, HDR + saddr, rule.source_cidr_block, fail)
            if rule.destination_cidr_block.prefixlen:
                self.address_is(family, HDR + daddr, rule.destination_cidr_block, fail)
            if rule.protocol is not None:
                a.jne(R7, rule.protocol, fail)
            if rule.source_port_range or rule.destination_port_range:
                self.unless_flag(HAS_PORTS, fail)
                for which, port_range in ((0, rule.source_port_range), (1, rule.destination_port_range)):
                    if port_range is not None:
                        self.port_in(which, port_range.from_port, port_range.to_port, fail)
            self.count(slot)
            if rule.accept:
                self.redirect(session)
            else:
                a.ja(next_session)
            a.label(fail)
        a.label(next_session)


def compile_program(interface, direction, sessions, targets, ifindexes, map_fd=0):
    """The program for ``interface`` in ``direction``. ``sessions``: that
    interface's sessions; ``targets``: every (address, port) of the config (its
    copies are never mirrored); ``ifindexes``: session name -> ifindex of its
    vxlan device; ``map_fd``: the counter map (0 when only naming the program)."""
    return _Builder(interface, direction, sessions, targets, ifindexes, map_fd).build()


def program_for(plan, interface, direction, ifindexes=None):
    """The program of ``plan`` for an interface and direction; ``ifindexes``:
    vxlan device name -> ifindex (without: placeholders, enough for the slots)."""
    ifindexes = ifindexes or {}
    by_session = {name: ifindexes.get(device, 0) for name, device in plan.session_devices.items()}
    key = (interface, direction, tuple(sorted(by_session.items())))
    if key not in plan.programs:
        sessions = plan.config.sessions_on(interface)
        plan.programs[key] = compile_program(interface, direction, sessions, plan.targets(), by_session)
    return plan.programs[key]


def plan_refs(plan):
    """comment -> RuleRef of every counter slot of the plan's eBPF programs."""
    refs = {}
    for interface in plan.interfaces_on("ebpf"):
        for direction in ("ingress", "egress"):
            refs.update(program_for(plan, interface, direction).refs)
    return refs
