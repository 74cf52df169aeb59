"""Truncation that cannot silently fail: a copy the truncation program cannot trim to its limit is counted
and dropped, never sent whole (and then fragmented by the vxlan device).

The kernel will not trim into headers it knows (bpf_skb_change_tail refuses a length below the transport
header's offset when the stack has set it; a packet socket sets it by dissecting the frame). An IPv6 frame
with a long destination options header therefore cannot be trimmed below 14 + 40 + that header. Frames are
injected with AF_PACKET on src eth0 (egress), to the peer, inside the lab's namespaces:

- "short": packet_length 64, limit 64 + 192 = 256: a 600-byte frame whose transport header starts at 566;
- "mtu": no packet_length, so the copy length is the underlay cap (1500 - 36 = 1464) and so is the limit: a
  1514-byte frame whose transport header starts at 1470. Sent whole, its copy (1550 bytes) would be
  fragmented.

Plain frames of the same sizes are truncated to the copy length; every ext-header frame is counted by
`status` as untruncatable and never reaches the collector, whole or in fragments.
"""

import ipaddress
import struct
import time

import pytest
from netlab import Capture
from netlab import drain_all
from netlab import l4_segment
from netlab import mac_of
from netlab import parse_vxlan
from netlab import raw_socket
from test_agent_integration import ANY6
from test_agent_integration import one_session
from test_agent_integration import rule

pytestmark = pytest.mark.netns

VNI = 901
SRC6 = ipaddress.ip_address("2001:db8::1")
PEER6 = ipaddress.ip_address("2001:db8::2")
COUNT = 20
CASES = {
    # name: (packet_length, frame length, destination options length, copy length)
    "short": (64, 600, 512, 64),
    "mtu": (None, 1514, 1416, 1464),
}


def config(packet_length):
    fields = {"packet_length": packet_length} if packet_length else {}
    return one_session("t", VNI, {"egress_rules": [rule(10, **ANY6)]}, **fields)


def destination_options(length):
    """A destination options header of ``length`` bytes (a multiple of 8), padded with PadN options."""
    body = b""
    room = length - 2
    while room:
        size = min(room, 257) if room != 258 else 200  # PadN: 2 + up to 255 bytes; never leave 1 byte
        body += struct.pack("!BB", 1, size - 2) + b"\0" * (size - 2)
        room -= size
    return struct.pack("!BB", 17, length // 8 - 1) + body


def ipv6_frame(dst_mac, src_mac, size, options_length, marker):
    """A UDP frame of ``size`` bytes from src to the peer; with ``options_length``, a destination options
    header of that length before the UDP header."""
    extension = destination_options(options_length) if options_length else b""
    payload_length = size - 14 - 40 - len(extension) - 8
    segment = l4_segment(SRC6, PEER6, 17, 40000, 9000, marker + b"." * (payload_length - len(marker)))
    body = extension + segment
    header = struct.pack("!IHBB16s16s", 6 << 28, len(body), 60 if extension else 17, 64, SRC6.packed, PEER6.packed)
    frame = dst_mac + src_mac + struct.pack("!H", 0x86DD) + header + body
    assert len(frame) == size
    return frame


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_copy_that_cannot_be_truncated_is_counted_and_dropped_never_sent_whole(lab, agent, case):
    packet_length, size, options_length, copy_length = CASES[case]
    agent.apply(config(packet_length))
    (session,) = agent.status()["sessions"]
    assert session["copy_length"] == copy_length
    src_mac, peer_mac = mac_of(lab, "src", "eth0"), mac_of(lab, "peer", "eth0")
    collector = Capture(lab, "col", "eth0")
    sock = raw_socket(lab, "src", "eth0")
    try:
        for _frame in range(COUNT):
            sock.send(ipv6_frame(peer_mac, src_mac, size, None, b"plain"))
            sock.send(ipv6_frame(peer_mac, src_mac, size, options_length, b"options"))
            time.sleep(0.002)
        (frames,) = drain_all([collector], quiet=0.3)
    finally:
        sock.close()
        collector.close()
    plain, options, fragments = [], [], 0
    for _pkt_type, data in frames:
        parsed = parse_vxlan(data)
        if parsed is None:
            continue
        vni, inner, _sport, _total, more = parsed
        if vni == "fragment" or more:
            fragments += 1
            continue
        if vni != VNI or len(inner) < 14 + 40 + 4 or inner[12:14] != b"\x86\xdd":
            continue
        if inner[14 + 6] == 17 and inner[14 + 40 + 2 : 14 + 40 + 4] == b"\x23\x28":  # UDP to port 9000
            plain.append(len(inner))
        elif inner[14 + 6] == 60:  # a destination options header: the frames the kernel will not trim
            options.append(len(inner))
    assert fragments == 0, "a copy was fragmented"
    assert plain == [copy_length] * COUNT  # the ordinary frames: truncated to the copy length
    assert options == []  # the frames the kernel will not trim: no copy at all, not a whole one
    status = agent.status()
    assert status["matches"] is True, status["problems"]
    assert status["untruncatable"] == COUNT
    assert status["sessions"][0]["untruncatable"] == COUNT
    # both kinds were mirrored by the rule (and the odd neighbour discovery frame src sent meanwhile)
    assert status["sessions"][0]["packets"] >= 2 * COUNT
    text = agent("status").stdout
    assert "copies dropped, not truncatable to their limit (never sent whole): %d" % COUNT in text
