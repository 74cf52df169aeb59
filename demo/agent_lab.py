"""`make demo` as root: the software mirroring agent in a local lab of network namespaces.

peer (198.18.0.2) -> source (198.18.0.1, runs the agent) -> collector (198.18.1.2), which decapsulates
VNI 42 on interface mirror42: the mirror lab of harness/netns_lab.py (the one the agent benchmarks use),
in namespaces with unique names. The agent mirrors what the source receives on UDP port 5001 and
nothing else, as an AWS filter with one ingress rule would. The lab sends a few datagrams to
5001 and to 5002, shows what reached the collector and the agent's status, then removes it all.
Only addresses of 198.18.0.0/15, only inside namespaces made here.
"""

import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "harness"))
import netns_lab  # noqa: E402 - the namespace lab the tests and the benchmarks use too

VNI = 42
CONFIG = {
    "sessions": [
        {
            "name": "udp-5001-to-collector",
            "network_interface": "eth0",
            "session_number": 1,
            "virtual_network_id": VNI,
            "target": {"address": netns_lab.COLLECTOR},
            "filter": {
                "ingress_rules": [
                    {
                        "rule_number": 100,
                        "rule_action": "accept",
                        "protocol": "udp",
                        "source_cidr_block": "0.0.0.0/0",
                        "destination_cidr_block": "0.0.0.0/0",
                        "destination_port_range": {"from_port": 5001, "to_port": 5001},
                    }
                ],
                "egress_rules": [],
            },
        }
    ]
}


def build():
    """harness/netns_lab.py's mirror lab, plus the collector's VXLAN interface that decapsulates the copies."""
    lab = netns_lab.mirror_lab(ipv6=False)
    try:
        vxlan = ("type", "vxlan", "id", str(VNI), "dstport", "4789", "nolearning")
        lab.run("col", "ip", "link", "add", "mirror42", *vxlan)
        lab.run("col", "ip", "link", "set", "mirror42", "up")
    except BaseException:
        lab.close()
        raise
    return lab


def collector_frames(lab):
    stats = json.loads(lab.run("col", "ip", "-j", "-s", "link", "show", "mirror42").stdout)
    return stats[0]["stats64"]["rx"]["packets"]


def send(lab, port, count):
    script = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for i in range({0}):\n"
        "    s.sendto(b'demo', ('{1}', {2}))\n"
        "    time.sleep(0.01)\n"
    ).format(count, netns_lab.SOURCE, port)
    lab.run("peer", sys.executable, "-c", script)
    time.sleep(0.5)


def main():
    if os.geteuid() != 0:
        print("The agent lab needs root (network namespaces).")
        return 0
    state_dir = tempfile.mkdtemp(prefix="netmirror-demo-")
    lab = None
    try:
        lab = build()
        agent = netns_lab.Agent(lab, "src", state_dir)
        config_file = agent.write_config(CONFIG)
        print("\n== Mirroring agent lab: peer -> source (agent) -> collector, VNI {0} ==".format(VNI))
        print("(segmentation offloads off on the source's eth0, so that each packet is mirrored as one copy)")
        print(agent("apply", "--config", config_file).stdout.strip() + " (first apply)")
        print(agent("apply", "--config", config_file).stdout.strip() + " (second apply: idempotent)")
        for port in (5001, 5002):
            before = collector_frames(lab)
            send(lab, port, 10)
            print("10 datagrams to UDP {0}: {1} copies at the collector".format(port, collector_frames(lab) - before))
        print("\nagent status:\n" + agent("status", "--config", config_file).stdout.rstrip())
        print(agent("remove").stdout.strip() + " (remove)")
        before = collector_frames(lab)
        send(lab, 5001, 10)
        print("after remove, 10 datagrams to UDP 5001: {0} copies".format(collector_frames(lab) - before))
        return 0
    except RuntimeError as error:  # a command of the lab or of the agent failed, with its output
        print("agent lab failed: {0}".format(error), file=sys.stderr)
        return 1
    finally:
        if lab is not None:
            lab.close()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(5)
    sys.exit(main())
