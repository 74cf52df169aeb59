"""The agent in real network namespaces: a source host, a peer and a collector.

src eth0 (198.18.0.1, 2001:db8::1) <-> peer eth0 (198.18.0.2, 2001:db8::2)
src eth1 (198.18.1.1, 2001:db8:1::1) <-> collector eth0 (198.18.1.2, 2001:db8:1::2)

The lab is netlab.topology() (conftest's lab and agent fixtures). The agent
mirrors src eth0. A capture on src eth0 records every frame of both directions;
the reference evaluator says which of them must be copied, by which session,
truncated to what; the collector must receive exactly those copies.
"""

import collections
import ipaddress
import json
import re
import socket
import struct
import subprocess
import sys
import time

import pytest
import reference
from netlab import COLLECTOR  # noqa: F401 (the lab's addresses: other test modules import them from here)
from netlab import COLLECTOR6
from netlab import PEER
from netlab import SRC
from netlab import SRC6
from netlab import Capture
from netlab import drain_all
from netlab import in_netns
from netlab import kernel_snapshot
from netlab import nft_without_egress_hook
from netlab import parse_vxlan
from traffic_mirror_agent import host
from traffic_mirror_agent import maps
from traffic_mirror_agent.config import parse_config
from traffic_mirror_agent.render import build_plan
from traffic_mirror_agent.render import copy_length

pytestmark = pytest.mark.netns

PACKET_OUTGOING = 4
ANY4 = {"source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "0.0.0.0/0"}
ANY6 = {"source_cidr_block": "::/0", "destination_cidr_block": "::/0"}


def rule(number, action="accept", **fields):
    data = {"rule_number": number, "rule_action": action}
    data.update(ANY4)
    data.update(fields)
    return data


def one_session(name, vni, filter_, **fields):
    """A config of one session on eth0, number 1, copying to the collector; ``fields`` added to it."""
    session = {
        "name": name,
        "network_interface": "eth0",
        "session_number": 1,
        "virtual_network_id": vni,
        "target": {"address": COLLECTOR},
        "filter": filter_,
    }
    session.update(fields)
    return {"sessions": [session]}


def strip(text):
    """An nft listing without the counter values."""
    return "\n".join(line for line in text.splitlines() if "counter packets" not in line)


def main_config():
    return {
        "sessions": [
            {
                "name": "web",
                "network_interface": "eth0",
                "session_number": 1,
                "virtual_network_id": 1001,
                "target": {"address": COLLECTOR},
                "filter": {
                    "ingress_rules": [
                        rule(10, "reject", protocol=6, destination_port_range={"from_port": 22, "to_port": 22}),
                        rule(20, protocol=6, destination_cidr_block="198.18.0.0/24"),
                        rule(30, protocol=17, destination_port_range={"from_port": 5000, "to_port": 5010}),
                    ],
                    "egress_rules": [
                        rule(10, protocol=6, source_port_range={"from_port": 5000, "to_port": 5000}),
                        rule(20, protocol=1),
                    ],
                },
            },
            {
                "name": "wide",
                "network_interface": "eth0",
                "session_number": 2,
                "virtual_network_id": 1002,
                "packet_length": 96,
                "target": {"address": COLLECTOR},
                "filter": {
                    "ingress_rules": [rule(10)],  # everything IPv4 the first session did not take
                    "egress_rules": [rule(10, **ANY6)],
                },
            },
            {
                "name": "v6",
                "network_interface": "eth0",
                "session_number": 3,
                "virtual_network_id": 1003,
                "target": {"address": COLLECTOR6},
                "filter": {"ingress_rules": [rule(10, **ANY6)], "egress_rules": [rule(10, protocol=17)]},
            },
        ]
    }


def traffic(lab):
    """Real TCP, UDP, ICMP, IPv6, ARP (neighbours flushed) and DHCP between peer and src."""
    lab.run("src", "ip", "neigh", "flush", "all")
    lab.run("peer", "ip", "neigh", "flush", "all")
    with in_netns(lab.ns("src")):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind((SRC, 5000))
        server.listen(8)
        ssh = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ssh.bind((SRC, 22))
        ssh.listen(8)
        udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        udp6.bind((SRC6, 6000))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((SRC, 5005))
    with in_netns(lab.ns("peer")):
        clients = [socket.create_connection((SRC, port), timeout=2) for port in (5000, 5000, 22)]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dhcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dhcp.bind((PEER, 68))
        sender6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        accepted = [server.accept()[0], server.accept()[0], ssh.accept()[0]]
        for index, (client, peer_side) in enumerate(zip(clients, accepted)):
            client.sendall(b"hello %d" % index * 20)
            peer_side.recv(4096)
            peer_side.sendall(b"x" * 1400)
            got = 0
            while got < 1400:
                got += len(client.recv(4096))
        for size in (10, 200, 1400):
            sender.sendto(b"u" * size, (SRC, 5005))
        for _attempt in range(3):
            dhcp.sendto(b"\x01" * 240, (SRC, 67))
        sender6.sendto(b"six" * 10, (SRC6, 6000))
        sender6.sendto(b"6" * 1400, (SRC6, 6000))  # 1462-byte frame: over the IPv6 underlay cap
        for seq in range(3):
            body = struct.pack("!BBHHH", 8, 0, 0, 7, seq) + b"p" * 56
            icmp.sendto(_icmp_fix(body), (SRC, 0))
            icmp6.sendto(struct.pack("!BBHHH", 128, 0, 0, 7, seq) + b"q" * 56, (SRC6, 0))
        time.sleep(0.3)
        for sock in accepted + clients:
            sock.close()
        time.sleep(0.2)
    finally:
        for sock in (server, ssh, udp6, udp, sender, dhcp, sender6, icmp, icmp6):
            sock.close()


def _icmp_fix(body):
    body = body[:2] + b"\0\0" + body[4:]
    total = sum(struct.unpack("!%dH" % (len(body) // 2), body))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return body[:2] + struct.pack("!H", ~total & 0xFFFF) + body[4:]


L4_CHECKSUM = {6: 16, 17: 6, 1: 2, 58: 2}


def without_l4_checksum(data):
    """The frame with its transport checksum zeroed. A truncated copy of a packet
    whose checksum the stack left to the device (CHECKSUM_PARTIAL) carries a
    checksum over the bytes kept, not the original one (see docs/agent.md)."""
    frame = reference.parse_frame(data)
    offset = L4_CHECKSUM.get(frame.protocol)
    if offset is None or not frame.l4:
        return data
    start = len(data) - len(frame.l4) + offset
    if start + 2 > len(data):
        return data
    return data[:start] + b"\0\0" + data[start + 2 :]


TRUNCATED = (96, 1464, 1444)  # copy lengths of the sessions in these tests (1500 - 36, 1500 - 56)


def normalise(vni, inner):
    return (vni, without_l4_checksum(inner) if len(inner) in TRUNCATED else inner)


def expected_copies(config_dict, frames, mtu=1500):
    config = parse_config(config_dict)
    expected = collections.Counter()
    verdicts = []
    for pkt_type, data in frames:
        direction = "egress" if pkt_type == PACKET_OUTGOING else "ingress"
        verdict = reference.evaluate(config, "eth0", direction, data)
        verdicts.append((direction, data, verdict))
        if verdict.session is not None:
            length = copy_length(verdict.session, mtu)
            inner = reference.copy_bytes(data, length)
            expected[normalise(verdict.session.virtual_network_id, inner)] += 1
    return expected, verdicts


def received_copies(frames):
    copies = collections.Counter()
    details = []
    for pkt_type, data in frames:
        if pkt_type == PACKET_OUTGOING:
            continue
        parsed = parse_vxlan(data)
        if parsed is None:
            continue
        vni, inner, sport, total, more = parsed
        assert vni != "fragment" and not more, "a copy was fragmented"
        copies[normalise(vni, inner)] += 1
        details.append((vni, inner, sport, total, data))
    return copies, details


def test_copies_arrive_as_the_reference_decides(lab, agent):
    config = main_config()
    agent.apply(config)
    tap = Capture(lab, "src", "eth0")
    collector = Capture(lab, "col", "eth0")
    try:
        traffic(lab)
        tapped, got = drain_all([tap, collector])
    finally:
        tap.close()
        collector.close()
    expected, verdicts = expected_copies(config, tapped)
    received, details = received_copies(got)
    assert received == expected, "missing %s / unexpected %s" % (
        [(v, len(i)) for v, i in (expected - received).elements()],
        [(v, len(i)) for v, i in (received - expected).elements()],
    )
    # Every kind of traffic was there, and went where the semantics say.
    kinds = collections.Counter()
    for direction, data, verdict in verdicts:
        frame = reference.parse_frame(data)
        kind = "arp" if frame.ethertype == 0x0806 else "v%s/%s" % (frame.version, frame.protocol)
        kinds[(kind, direction, verdict.session.name if verdict.session else verdict.excluded)] += 1
    assert kinds[("arp", "ingress", "non-ip")] and kinds[("arp", "egress", "non-ip")]
    assert kinds[("v4/17", "ingress", "dhcp")] == 3
    assert kinds[("v4/6", "ingress", "web")] and kinds[("v4/6", "egress", "web")]
    assert kinds[("v4/6", "ingress", "wide")]  # port 22: rejected by web, mirrored by wide
    assert (
        kinds[("v4/1", "ingress", "wide")] == 3 and kinds[("v4/1", "egress", "web")] >= 3
    )  # replies + port unreachables
    assert kinds[("v4/17", "ingress", "web")] == 3
    assert kinds[("v6/17", "ingress", "v6")] == 2 and kinds[("v6/58", "ingress", "v6")] >= 3
    assert kinds[("v6/58", "egress", "wide")] >= 3
    # VNIs, truncation, outer source port per flow, IPv6 underlay
    by_vni = collections.defaultdict(list)
    for vni, inner, sport, total, data in details:
        by_vni[vni].append({"inner": inner, "sport": sport, "total": total, "outer": data})
    assert set(by_vni) == {1001, 1002, 1003}
    assert max(len(c["inner"]) for c in by_vni[1002]) == 96
    assert max(len(c["inner"]) for c in by_vni[1001]) == 1464  # 1514-byte frames capped: 1500 - 36
    assert max(c["total"] for c in by_vni[1001]) == 1500
    assert len({c["sport"] for c in by_vni[1001]}) >= 3  # several flows, several source ports
    assert all(struct.unpack("!H", c["outer"][12:14])[0] == 0x86DD for c in by_vni[1003])
    assert max(len(c["inner"]) for c in by_vni[1003]) == 1444  # IPv6 underlay: 1500 - 56
    assert max(c["total"] for c in by_vni[1003]) == 1500
    # status counts what the collector got
    status = agent.status()
    assert status["matches"] is True, status["problems"]
    per_session = collections.Counter()
    for vni, _inner in received.elements():
        per_session[vni] += 1
    assert {s["virtual_network_id"]: s["packets"] for s in status["sessions"]} == {
        1001: per_session[1001],
        1002: per_session[1002],
        1003: per_session[1003],
    }
    # bytes are frame bytes (from the Ethernet header, before truncation), both directions
    frame_bytes = collections.Counter()
    for _direction, data, verdict in verdicts:
        if verdict.session is not None:
            frame_bytes[verdict.session.virtual_network_id] += len(data)
    assert {s["virtual_network_id"]: s["bytes"] for s in status["sessions"]} == dict(frame_bytes)
    assert status["excluded"]["dhcp"] == 3


def test_apply_twice_changes_nothing_and_remove_restores(lab, agent):
    # something of someone else's that must survive: a table and a vxlan-looking device
    lab.run(
        "src",
        "nft",
        "-f",
        "-",
        input_text="table inet other {\n chain c {\n type filter hook input priority 0;\n counter\n }\n}\n",
    )
    lab.run("src", "ip", "link", "add", "tmafoo", "type", "vxlan", "id", "9", "remote", "198.18.1.9", "dstport", "4789")
    before = kernel_snapshot(lab, "src")
    rendered = agent("render", "--config", agent.write_config(main_config())).stdout
    assert "ip link add tma" in rendered
    if lab.datapath == "ebpf":
        assert "# eBPF: tc filter replace dev eth0 ingress pref 49 handle 1 bpf da <tma_" in rendered
    else:
        assert "table netdev traffic_mirror_agent {" in rendered
    assert kernel_snapshot(lab, "src") == before  # render changes nothing
    first = agent.apply(main_config())
    assert first.stdout.strip() == "changed"
    applied = kernel_snapshot(lab, "src")
    second = agent.apply(main_config())
    assert second.stdout.strip() == "unchanged"
    again = kernel_snapshot(lab, "src")
    assert strip(again["nft"]) == strip(applied["nft"])
    assert again["links"] == applied["links"]
    assert again["filters"] == applied["filters"] and again["qdiscs"] == applied["qdiscs"]
    assert agent.status()["matches"] is True
    assert agent("remove").stdout.strip() == "changed"
    after = kernel_snapshot(lab, "src")
    assert after == before
    assert agent("remove").stdout.strip() == "unchanged"
    assert agent.status()["matches"] is True  # nothing applied, nothing present
    assert agent.status()["config_recorded"] is False
    assert agent("status").stdout.startswith("no config applied")


def test_applies_on_a_minimal_host_without_etc_protocols(lab, agent):
    # Debian minbase has no netbase, hence no /etc/protocols: nft must not be asked to resolve protocol names
    config_path = agent.write_config(main_config())
    hide = 'mount --bind /dev/null /etc/protocols && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", hide, "sh"] + agent.command("apply", "--config", config_path)
    proc = subprocess.run(command, capture_output=True, text=True, env=agent.env(), check=False)
    assert proc.returncode == 0, proc.stderr
    assert agent.status()["matches"] is True


def test_changed_config_replaces_and_drops_what_is_gone(lab, agent):
    config = main_config()
    agent.apply(config)
    devices = {s["device"] for s in agent.status()["sessions"]}
    assert len(devices) == 3
    smaller = {"sessions": [config["sessions"][0]]}
    assert agent.apply(smaller).stdout.strip() == "changed"
    status = agent.status()
    assert status["matches"] is True and [s["name"] for s in status["sessions"]] == ["web"]
    links = json.loads(lab.run("src", "ip", "-j", "link", "show").stdout)
    assert {link["ifname"] for link in links if link["ifname"].startswith("tma")} == {status["sessions"][0]["device"]}
    agent.apply({"sessions": []})
    assert lab.run("src", "nft", "list", "tables").stdout.strip() == ""


def test_bad_input_is_a_clear_error_and_nothing_changes(lab, agent):
    agent.apply(main_config())
    applied = kernel_snapshot(lab, "src")

    def failing(config, code, text):
        proc = agent("apply", "--config", agent.write_config(config), check=False)
        assert proc.returncode == code, proc.stderr
        assert text in proc.stderr, proc.stderr
        after = kernel_snapshot(lab, "src")
        assert strip(after["nft"]) == strip(applied["nft"]) and after["links"] == applied["links"]
        assert after["filters"] == applied["filters"]

    bad = main_config()
    bad["sessions"][1]["network_interface"] = "nosuch0"
    failing(bad, 1, "session 'wide': network_interface: nosuch0 does not exist on this host")
    bad = main_config()
    bad["sessions"][2]["target"]["address"] = "2001:db8:77::1"
    failing(bad, 1, "session 'v6': target.address: target 2001:db8:77::1 is unreachable")
    bad = main_config()
    bad["sessions"][2]["session_number"] = 1
    failing(bad, 2, "session 'v6': session_number: 1 is already used by session 'web' on eth0")
    # a failure half-way (a device name taken by someone else) rolls back what it created
    bad = main_config()
    bad["sessions"][0]["virtual_network_id"] = 4242
    bad["sessions"][1]["virtual_network_id"] = 4243
    plan = build_plan(
        parse_config(bad), {ipaddress.ip_address(COLLECTOR): 1500, ipaddress.ip_address(COLLECTOR6): 1500}
    )
    taken = plan.session_devices["wide"]
    lab.run("src", "ip", "link", "add", taken, "type", "veth", "peer", "name", "x" + taken[:14])
    applied = kernel_snapshot(lab, "src")
    failing(bad, 1, "a device named %s exists and is not the agent's" % taken)
    lab.run("src", "ip", "link", "del", taken)


def test_check_tries_the_features_and_changes_nothing(lab, agent):
    before = kernel_snapshot(lab, "src")
    ok = agent("check", "--config", agent.write_config(main_config()))
    assert ok.stdout.startswith("ok: this host can apply the config (3 session(s))"), ok.stdout + ok.stderr
    bad = main_config()
    bad["sessions"][0]["network_interface"] = "nosuch0"
    proc = agent("check", "--config", agent.write_config(bad), check=False)
    assert proc.returncode == 1 and "network_interface: nosuch0 does not exist on this host" in proc.stderr
    assert agent("check", "--config-only", "--config", agent.write_config(bad)).stdout.startswith("config ok")
    bad["sessions"][0]["session_number"] = 0
    proc = agent("check", "--config-only", "--config", agent.write_config(bad), check=False)
    assert proc.returncode == 2 and "session_number: 0 is out of range" in proc.stderr
    assert kernel_snapshot(lab, "src") == before


def test_offloads_on_a_mirrored_interface_are_reported(lab, agent):
    """With TSO/GSO/GRO on, the kernel mirrors super-packets: check, apply and status say so."""
    lab.link("src", "eth2", "peer", "eth2", offloads=True)
    config = main_config()
    config["sessions"][2]["network_interface"] = "eth2"
    proc = agent("check", "--config", agent.write_config(config))
    # gro too where the kernel turns it on for veth (Debian 11's 5.10 does)
    assert re.search(r"warning: eth2: (gro/)?gso/tso on: the kernel mirrors one copy per super-packet", proc.stderr), (
        proc.stderr
    )
    assert "ethtool -K eth2 tso off gso off gro off" in proc.stderr
    assert "eth0" not in proc.stderr  # the tests turn eth0's offloads off
    proc = agent.apply(config)
    assert "warning: eth2" in proc.stderr
    warnings = agent.status()["warnings"]
    assert len(warnings) == 1 and re.match(r"eth2: (gro/)?gso/tso on", warnings[0]), warnings


def test_feature_probes_find_nothing_missing_here(lab, agent):
    proc = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            lab.ns("src"),
            sys.executable,
            "-c",
            # what this lab's data path needs (on Linux < 5.16 the nftables egress hook is not among them
            # for eBPF)
            "from traffic_mirror_agent import probe; print(probe.missing_features(%r))" % lab.datapath,
        ],
        capture_output=True,
        text=True,
        env=agent.env(),
        check=False,
    )
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_a_missing_kernel_feature_is_named(lab, agent, tmp_path):
    """A host whose nftables lacks the netdev egress hook (simulated by an nft
    that refuses it, as on Linux < 5.16): on the nftables data path an error
    naming the feature, and nothing is applied; the eBPF data path needs no
    nftables hook and mirrors both directions there."""
    before = kernel_snapshot(lab, "src")
    env = dict(agent.env(), PATH=nft_without_egress_hook(str(tmp_path)))
    proc = subprocess.run(
        agent.command("apply", "--config", agent.write_config(main_config())),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if lab.datapath == "ebpf":
        assert proc.returncode == 0, proc.stderr
        status = agent.status()
        assert status["matches"] is True
        assert status["interfaces"]["eth0"]["datapath"] == "ebpf"
        filters = kernel_snapshot(lab, "src")["filters"]
        for direction in ("ingress", "egress"):
            assert "name tma_" in filters["eth0 %s" % direction], filters
        return
    assert proc.returncode == 1
    assert (
        "this host lacks nftables netdev egress hook (CONFIG_NETFILTER_EGRESS, Linux >= 5.16) "
        "(nft rejected the ruleset)" in proc.stderr
    ), proc.stderr
    assert kernel_snapshot(lab, "src") == before


# Offsets (bits from the outer UDP header) of the copied packet's network
# header fields: inner Ethernet at +16 bytes, inner IP at +30.
INNER = {
    4: {"proto": "@th,312,8", "dport": "@th,416,16", "icmp_type": "@th,400,8", "icmp": 1, "unreachable": 3},
    6: {"proto": "@th,288,8", "dport": "@th,576,16", "icmp_type": "@th,560,8", "icmp": 58, "unreachable": 1},
}


@pytest.mark.parametrize("family", [4, 6])
def test_no_loop_when_copies_cross_the_mirrored_interface(lab, agent, family):
    """The target is the peer, reached through the mirrored interface itself: the
    copies and the peer's ICMP port-unreachable errors about them cross eth0 under
    sustained load, and are never mirrored again."""
    src, peer, inet = (SRC, PEER, socket.AF_INET) if family == 4 else (SRC6, "2001:db8::2", socket.AF_INET6)
    config = {
        "sessions": [
            {
                "name": "all",
                "network_interface": "eth0",
                "session_number": 1,
                "virtual_network_id": 77,
                "target": {"address": peer},
                "filter": {"ingress_rules": [rule(1), rule(2, **ANY6)], "egress_rules": [rule(1), rule(2, **ANY6)]},
            }
        ]
    }
    dmesg_before = kernel_log()
    agent.apply(config)
    # kernel counters at the peer (the target): all copies, copies of copies, copies of ICMP errors
    inner = INNER[family]
    lab.run(
        "peer",
        "nft",
        "-f",
        "-",
        # not "count": nftables 0.9.8 (Debian 11) reads it as a keyword
        input_text=(
            'table netdev tmat_copies {\n chain copies_in {\n type filter hook ingress device "eth0" priority 0;\n'
            ' udp dport 4789 counter comment "copies"\n'
            ' udp dport 4789 %(proto)s 17 %(dport)s 9000-9001 counter comment "inner-udp-9000"\n'
            ' udp dport 4789 %(proto)s %(icmp)d counter comment "inner-icmp"\n'
            ' udp dport 4789 %(proto)s 17 %(dport)s 4789 counter comment "nested"\n'
            ' udp dport 4789 %(proto)s %(icmp)d %(icmp_type)s %(unreachable)d counter comment "icmp-errors"\n'
            " }\n}\n"
        )
        % inner,
    )
    with in_netns(lab.ns("src")):
        sink = socket.socket(inet, socket.SOCK_DGRAM)
        sink.bind((src, 9000))
        talker = socket.socket(inet, socket.SOCK_DGRAM)
    with in_netns(lab.ns("peer")):
        blaster = socket.socket(inet, socket.SOCK_DGRAM)
        blaster.bind((peer, 9001))
    sent = 0
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            for _burst in range(200):
                blaster.sendto(b"L" * 100, (src, 9000))
                talker.sendto(b"R" * 100, (peer, 9001))
            sent += 200
        time.sleep(0.3)
    finally:
        for sock in (sink, talker, blaster):
            sock.close()
    counts = {}
    for item in json.loads(lab.run("peer", "nft", "-j", "list", "table", "netdev", "tmat_copies").stdout)["nftables"]:
        if "rule" in item:
            counters = [e["counter"]["packets"] for e in item["rule"]["expr"] if "counter" in e]
            counts[item["rule"]["comment"]] = counters[0]
    status = agent.status()
    assert status["matches"] is True
    mirrored = status["sessions"][0]["packets"]
    print(
        "sent %d pairs, mirrored %d, copies at the target %r, excluded %r"
        % (sent, mirrored, counts, status["excluded"])
    )
    # the offsets of the inner headers are right: the test's datagrams, and neighbour discovery (IPv6)
    assert counts["inner-udp-9000"] + counts["inner-icmp"] == counts["copies"]
    assert counts["inner-icmp"] <= 20
    assert counts["nested"] == 0, "a copy of a copy"
    assert counts["icmp-errors"] == 0, "an ICMP error about copies was mirrored"
    assert status["excluded"]["copies"] == counts["copies"]  # every copy crossed eth0 and was skipped
    assert status["excluded"]["icmp-about-copies"] >= 1  # the peer's port unreachables were seen and skipped
    assert sent * 2 <= mirrored
    assert counts["copies"] == mirrored  # one copy per mirrored packet, none lost, none extra
    assert status["excluded"]["copies"] > 0
    assert status["interfaces"]["eth0"]["datapath"] == lab.datapath
    # no loop the kernel noticed either (xmit recursion, a dead loop on a device, a warning); the log is the
    # machine's: only such messages count, not others' link chatter
    news = [line for line in kernel_log() if line not in dmesg_before]
    alarms = [line for line in news if any(word in line.lower() for word in KERNEL_ALARMS)]
    assert alarms == [], alarms


KERNEL_ALARMS = ("recursion", "loop", "warning", "bug:", "call trace", "vxlan", "tma", "bpf")


def kernel_log():
    return set(subprocess.run(["dmesg"], capture_output=True, text=True, check=False).stdout.splitlines())


EGRESS_HOOK = "nftables netdev egress hook (CONFIG_NETFILTER_EGRESS, Linux >= 5.16)"


@pytest.mark.parametrize("configured", ["auto", "ebpf", "nftables"])
def test_check_asks_only_what_the_data_path_needs(agent, tmp_path, configured):
    """`check` (the role's preflight) on a kernel without the nftables netdev egress hook (Linux < 5.16,
    simulated by an nft that refuses it): the eBPF data path and `auto` pass, since eBPF mirrors both
    directions without it; the nftables data path is refused, naming the hook."""
    env = dict(agent.env(), PATH=nft_without_egress_hook(str(tmp_path)))
    config = dict(main_config(), datapath=configured)
    proc = subprocess.run(
        agent.command("check", "--config", agent.write_config(config)),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if configured == "nftables":
        assert proc.returncode == 1 and EGRESS_HOOK in proc.stderr, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "ok: this host can apply the config" in proc.stdout
        assert EGRESS_HOOK not in proc.stderr


def test_filters_are_named_from_the_kernel_where_tc_prints_no_program_name(lab, agent):
    """iproute2 before 5.16 (Debian 11's 5.9) prints no program name for a cls_bpf filter, and its
    bpf_name is the pinned file's ("tma_trunc_96_123:[*fsobj]"): the agent reads the name by the
    program's id, so it still knows its own programs there (it re-applied forever on Debian 11)."""
    agent.apply(main_config())
    links = json.loads(lab.run("src", "ip", "-j", "link", "show", "type", "vxlan").stdout)
    devices = [link["ifname"] for link in links if link["ifname"].startswith("tma")]
    seen = []
    for device in devices:
        listed = json.loads(lab.run("src", "tc", "-j", "filter", "show", "dev", device, "egress").stdout or "[]")
        for item in listed:
            options = item.get("options") or {}
            if item.get("kind") != "bpf" or not options:
                continue
            name = maps.program_name(options["prog"]["id"])
            options["prog"].pop("name", None)  # as iproute2 5.9 prints it
            options["bpf_name"] = "%s_4242:[*fsobj]" % name
            assert [entry[2] for entry in host._bpf_entries([item])] == [name]
            seen.append(name)
    assert seen and all(name.startswith("tma_t") for name in seen), seen
