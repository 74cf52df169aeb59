"""Side-by-side measurement of in-kernel mirroring paths (not a pytest test).

peer --veth--> src (mirrors eth0, both directions, everything) --veth--> collector

For each method: iperf3 UDP with 64-byte datagrams (packets/s the receiver
got) and TCP (bit/s), and the copies the collector received (an nftables
counter on its ingress), as ratios to the no-mirroring baseline of the same run.

    sudo .venv/bin/python tests/agent/measure_kernel_paths.py [--seconds 4]

Methods:
- none: baseline
- agent (nft dup + eBPF truncation): what the agent applies
- nft dup, no truncation: the same without the cls_bpf program
- tc u32 + mirred: clsact ingress/egress, u32 match-all, mirred egress mirror
Needs iperf3 and nftables. Only namespaces it creates, 198.18.0.0/15.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from netlab import Agent  # noqa: E402
from netlab import Lab  # noqa: E402
from netlab import settle  # noqa: E402

SRC, PEER, COLLECTOR = "198.18.0.1", "198.18.0.2", "198.18.1.2"


def build(offloads):
    lab = Lab()
    for role in ("src", "peer", "col"):
        lab.add_host(role)
    lab.link("src", "eth0", "peer", "eth0", offloads=offloads)
    lab.link("src", "eth1", "col", "eth0", offloads=offloads)
    lab.addr("src", "eth0", SRC + "/24")
    lab.addr("peer", "eth0", PEER + "/24")
    lab.addr("src", "eth1", "198.18.1.1/24")
    lab.addr("col", "eth0", COLLECTOR + "/24")
    lab.route("peer", "default", "via", SRC)
    lab.route("col", "default", "via", "198.18.1.1")
    lab.run(
        "col",
        "nft",
        "-f",
        "-",
        input_text=(
            'table netdev count {\n chain in {\n type filter hook ingress device "eth0" priority 0;\n'
            " udp dport 4789 counter\n }\n}\n"
        ),
    )
    settle(lab, ("src", "peer", "col"), 0.1)
    return lab


def copies(lab):
    data = json.loads(lab.run("col", "nft", "-j", "list", "table", "netdev", "count").stdout)
    for item in data["nftables"]:
        if "rule" in item:
            for expr in item["rule"]["expr"]:
                if "counter" in expr:
                    return expr["counter"]["packets"]
    return 0


def iperf(lab, seconds, udp):
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("src"), "iperf3", "-s", "-1", "-B", SRC],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    args = ["iperf3", "-c", SRC, "-t", str(seconds), "-J"]
    if udp:
        args += ["-u", "-b", "0", "-l", "64"]
    try:
        out = lab.run("peer", *args).stdout
    finally:
        server.wait(timeout=seconds + 10)
    end = json.loads(out)["end"]
    if udp:
        summary = end["sum"]
        received = summary["packets"] - summary["lost_packets"]
        return received / summary["seconds"], summary["packets"]
    summary = end["sum_received"]
    return summary["bits_per_second"], None


def method_agent(lab, workdir, truncate=True):
    agent = Agent(lab, "src", workdir)
    any4 = {"source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "0.0.0.0/0"}
    agent.apply(
        {
            "sessions": [
                {
                    "name": "all",
                    "network_interface": "eth0",
                    "session_number": 1,
                    "virtual_network_id": 9,
                    "target": {"address": COLLECTOR},
                    "filter": {
                        "ingress_rules": [dict(rule_number=1, rule_action="accept", **any4)],
                        "egress_rules": [dict(rule_number=1, rule_action="accept", **any4)],
                    },
                }
            ]
        }
    )
    if not truncate:
        for dev in json.loads(lab.run("src", "ip", "-j", "link", "show").stdout):
            if dev["ifname"].startswith("tma"):
                lab.run("src", "tc", "filter", "del", "dev", dev["ifname"], "egress")


def method_u32(lab, workdir):
    lab.run(
        "src",
        "ip",
        "link",
        "add",
        "mir0",
        "type",
        "vxlan",
        "id",
        "9",
        "remote",
        COLLECTOR,
        "dstport",
        "4789",
        "nolearning",
    )
    lab.run("src", "sysctl", "-qw", "net.ipv6.conf.mir0.disable_ipv6=1")
    lab.run("src", "ip", "link", "set", "mir0", "arp", "off", "up")
    lab.run("src", "tc", "qdisc", "add", "dev", "eth0", "clsact")
    for hook in ("ingress", "egress"):
        lab.run(
            "src",
            "tc",
            "filter",
            "add",
            "dev",
            "eth0",
            hook,
            "protocol",
            "ip",
            "u32",
            "match",
            "u32",
            "0",
            "0",
            "action",
            "mirred",
            "egress",
            "mirror",
            "dev",
            "mir0",
        )


METHODS = [
    ("none", None),
    ("agent: nft dup + eBPF truncation", method_agent),
    ("nft dup, no truncation", lambda lab, w: method_agent(lab, w, truncate=False)),
    ("tc u32 + mirred", method_u32),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--offloads", action="store_true", help="leave TSO/GSO/checksum offloads on")
    args = parser.parse_args()
    rows = []
    for name, setup in METHODS:
        lab = build(args.offloads)
        try:
            if setup:
                setup(lab, tempfile.mkdtemp(prefix="tma-measure-"))
            pps, sent = iperf(lab, args.seconds, udp=True)
            udp_copies = copies(lab)
            bps = iperf(lab, args.seconds, udp=False)[0]
            tcp_copies = copies(lab) - udp_copies
            rows.append((name, pps, bps, udp_copies, sent, tcp_copies))
        finally:
            lab.close()
    base_pps, base_bps = rows[0][1], rows[0][2]
    print(
        "baseline: %.0f kpps UDP 64-byte received, %.2f Gbit/s TCP (offloads %s)"
        % (base_pps / 1000, base_bps / 1e9, "on" if args.offloads else "off")
    )
    print("| method | UDP64 rate | TCP rate | UDP copies / datagrams sent | TCP copies |")
    print("|---|---|---|---|---|")
    for name, pps, bps, udp_copies, sent, tcp_copies in rows:
        print(
            "| %s | %.2f | %.2f | %d / %d | %d |" % (name, pps / base_pps, bps / base_bps, udp_copies, sent, tcp_copies)
        )


if __name__ == "__main__":
    main()
