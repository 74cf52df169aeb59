"""What AWS never mirrors is never mirrored, proven in the kernel against the test's own list.

NEVER_MIRRORED below is this test's copy of AWS's documented set, not the agent's constants
(render.NEVER_MIRRORED_V4 and friends): AWS's Traffic Mirroring limitations ("Never mirrored: ARP, DHCP,
instance metadata, NTP, Windows activation. Mirror traffic is never itself mirrored", as quoted in the
project's reference facts) with the addresses AWS documents for those services: instance metadata
169.254.169.254 and fd00:ec2::254, the Amazon Time Sync Service (NTP) 169.254.169.123 and fd00:ec2::123,
Windows activation (KMS) 169.254.169.250 and .251, DHCP on UDP 67/68 and DHCPv6 on 546/547. Amazon DNS
(169.254.169.253, fd00:ec2::253, port 53, UDP and TCP) is mirrored only by a session whose filter lists the
`amazon-dns` network service: AMAZON_DNS is checked both ways. (The VPC's own resolver at the VPC CIDR's base
+ 2 is Amazon DNS too on AWS; the agent knows no VPC CIDR and treats that address as any other: not tested,
see docs/agent.md.)

The session mirrors everything, both directions, both families. Ingress: the peer sends frames built with
scapy whose source is the excluded address (spoofed), addressed to the lab's src host, out of its own eth0
with AF_PACKET. Egress: src sends frames to those addresses with AF_PACKET on its eth0 (no route to them is
needed, none exists: the frames only cross the veth to the peer, which does not forward). Everything stays in
the namespaces the test made; a bounded number of frames (COUNT per case). The agent's own VXLAN copies are
checked as UDP to the target's port 4789. A capture on src eth0 proves every frame crossed the mirrored
interface; the collector must get no copy of any of them, and a copy of each control frame.
"""

import collections
import socket
import time

import pytest
from netlab import Capture
from netlab import drain_all
from netlab import in_netns
from netlab import mac_of
from netlab import parse_vxlan
from netlab import raw_socket
from scapy.layers.inet import IP
from scapy.layers.inet import TCP
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP
from scapy.layers.l2 import Ether
from test_agent_integration import ANY6
from test_agent_integration import COLLECTOR
from test_agent_integration import PACKET_OUTGOING
from test_agent_integration import PEER
from test_agent_integration import SRC
from test_agent_integration import SRC6
from test_agent_integration import one_session
from test_agent_integration import rule

pytestmark = pytest.mark.netns

VNI = 1201
COUNT = 3
PEER6 = "2001:db8::2"

# The test's own list (see the module's docstring): name -> (address, transport, port the service uses)
NEVER_MIRRORED = {
    "metadata": ("169.254.169.254", "tcp", 80),
    "metadata6": ("fd00:ec2::254", "tcp", 80),
    "ntp": ("169.254.169.123", "udp", 123),
    "ntp6": ("fd00:ec2::123", "udp", 123),
    "activation-250": ("169.254.169.250", "tcp", 1688),
    "activation-251": ("169.254.169.251", "tcp", 1688),
}
AMAZON_DNS = {
    "dns-udp": ("169.254.169.253", "udp", 53),
    "dns-tcp": ("169.254.169.253", "tcp", 53),
    "dns6-udp": ("fd00:ec2::253", "udp", 53),
    "dns6-tcp": ("fd00:ec2::253", "tcp", 53),
}
DHCP = {  # (client port, server port) per family
    "dhcp": (68, 67),
    "dhcpv6": (546, 547),
}
TARGET_PORT = 4789  # the agent's own copies: VXLAN to the target


def config(amazon_dns):
    everything = [rule(10), rule(20, **ANY6)]
    services = ["amazon-dns"] if amazon_dns else []
    return one_session(
        "everything", VNI, {"ingress_rules": everything, "egress_rules": everything, "network_services": services}
    )


def marker(case, direction):
    return ("tmat-%s-%s" % (case, direction)).encode()


def l4(transport, sport, dport):
    return TCP(sport=sport, dport=dport, flags="S") if transport == "tcp" else UDP(sport=sport, dport=dport)


def frames(direction, src_mac, peer_mac):
    """(case, frame bytes) of every case, in ``direction`` (ingress: the peer sends to src; egress: src sends)."""
    ether = Ether(src=peer_mac, dst=src_mac) if direction == "ingress" else Ether(src=src_mac, dst=peer_mac)
    sender, receiver = (PEER, SRC) if direction == "ingress" else (SRC, PEER)
    result = []

    def add(case, packet):
        result.append((case, bytes(ether / packet / marker(case, direction))))

    for case, (address, transport, port) in sorted(dict(NEVER_MIRRORED, **AMAZON_DNS).items()):
        ip = IPv6 if ":" in address else IP
        mine = SRC6 if ":" in address else SRC
        if direction == "ingress":  # the service answers: its address is the (spoofed) source
            add(case, ip(src=address, dst=mine) / l4(transport, port, 40000))
        else:  # the host asks the service
            add(case, ip(src=mine, dst=address) / l4(transport, 40000, port))
    client, server = DHCP["dhcp"]
    if direction == "ingress":  # a server's offer to the client
        add("dhcp", IP(src=PEER, dst="255.255.255.255") / UDP(sport=server, dport=client))
        add("dhcpv6", IPv6(src="fe80::2", dst="fe80::1") / UDP(sport=DHCP["dhcpv6"][1], dport=DHCP["dhcpv6"][0]))
    else:  # the client's discover / solicit
        add("dhcp", IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=client, dport=server))
        add("dhcpv6", IPv6(src="fe80::1", dst="ff02::1:2") / UDP(sport=DHCP["dhcpv6"][0], dport=DHCP["dhcpv6"][1]))
    # the agent's own copies (VXLAN to the target's address and port): never mirrored again
    add("own-vxlan", IP(src=sender, dst=COLLECTOR) / UDP(sport=40001, dport=TARGET_PORT))
    # ARP, and the controls: ordinary traffic between the lab's hosts, which the session mirrors
    arp = ARP(op=1, hwsrc=ether.src, psrc=sender, pdst=receiver)
    result.append(("arp", bytes(ether / arp / marker("arp", direction))))
    peer_side = {"ingress": (PEER, SRC, PEER6, SRC6), "egress": (SRC, PEER, SRC6, PEER6)}[direction]
    add("control", IP(src=peer_side[0], dst=peer_side[1]) / UDP(sport=40002, dport=9000))
    add("control6", IPv6(src=peer_side[2], dst=peer_side[3]) / UDP(sport=40002, dport=9000))
    return result


@pytest.mark.parametrize("amazon_dns", [False, True], ids=["without-amazon-dns", "with-amazon-dns"])
def test_the_documented_never_mirrored_set_is_never_mirrored_in_the_kernel(lab, agent, amazon_dns):
    agent.apply(config(amazon_dns))
    src_mac, peer_mac = mac_of(lab, "src", "eth0"), mac_of(lab, "peer", "eth0")
    tap = Capture(lab, "src", "eth0")
    collector = Capture(lab, "col", "eth0")
    senders = {"ingress": raw_socket(lab, "peer", "eth0"), "egress": raw_socket(lab, "src", "eth0")}
    # listeners for the controls: no port unreachable (which would quote a control's marker) comes back
    listeners = []
    for role, addresses in (("src", (SRC, SRC6)), ("peer", (PEER, PEER6))):
        with in_netns(lab.ns(role)):
            for address in addresses:
                listener = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
                listener.bind((address, 9000))
                listeners.append(listener)
    sent = collections.Counter()
    known = {}  # frame bytes -> "<case>-<direction>": copies are recognised by their exact bytes (an ICMP
    # error quoting one of these frames, e.g. the peer's "no route" for an egress frame, is another frame)
    try:
        for direction, sock in sorted(senders.items()):
            for case, data in frames(direction, src_mac, peer_mac):
                known[data] = "%s-%s" % (case, direction)
                for _copy in range(COUNT):
                    sock.send(data)
                    sent[known[data]] += 1
                    time.sleep(0.001)
        tapped, got = drain_all([tap, collector], quiet=0.3)
    finally:
        for sock in list(senders.values()) + listeners:
            sock.close()
        tap.close()
        collector.close()
    # every frame crossed src eth0, in its direction
    crossed = collections.Counter()
    for pkt_type, data in tapped:
        case = known.get(data)
        if case and (pkt_type == PACKET_OUTGOING) == case.endswith("-egress"):
            crossed[case] += 1
    assert crossed == sent, "not every frame crossed the mirrored interface: %r" % (sent - crossed)
    copied = collections.Counter()
    for _pkt_type, data in got:
        parsed = parse_vxlan(data)
        if parsed and parsed[0] == VNI and parsed[1] in known:
            copied[known[parsed[1]]] += 1
    mirrored = {"control", "control6"} | (set(AMAZON_DNS) if amazon_dns else set())
    expected = collections.Counter({key: count for key, count in sent.items() if key.rsplit("-", 1)[0] in mirrored})
    assert copied == expected, "unexpected copies %r, missing copies %r" % (copied - expected, expected - copied)
    for case in NEVER_MIRRORED:
        assert not copied["%s-ingress" % case] and not copied["%s-egress" % case]
