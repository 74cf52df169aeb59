"""`make demo` as root: the software mirroring agent in a local lab of network namespaces.

peer (198.18.70.3) -> source (198.18.70.1, runs the agent) ; collector (198.18.70.2) decapsulates
VNI 42 on interface mirror42. The agent mirrors what the source receives on UDP port 5001 and
nothing else, as an AWS filter with one ingress rule would. The lab sends a few datagrams to
5001 and to 5002, shows what reached the collector and the agent's status, then removes it all.
Only addresses of 198.18.0.0/15, only inside namespaces made here.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AGENT_PATH = REPO / "roles" / "mirror_agent" / "files"
NAMESPACES = {"sw": None, "src": "198.18.70.1", "col": "198.18.70.2", "peer": "198.18.70.3"}
VNI = 42
CONFIG = {
    "sessions": [
        {
            "name": "udp-5001-to-collector",
            "network_interface": "eth0",
            "session_number": 1,
            "virtual_network_id": VNI,
            "target": {"address": NAMESPACES["col"]},
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


def run(*args, check=True, env=None):
    return subprocess.run(list(args), check=check, text=True, capture_output=True, env=env)


def netns(name):
    return "nmdemo-" + name


def build():
    for name in NAMESPACES:
        run("ip", "netns", "add", netns(name))
    run("ip", "-n", netns("sw"), "link", "add", "br0", "type", "bridge")
    run("ip", "-n", netns("sw"), "link", "set", "br0", "up")
    for name, address in NAMESPACES.items():
        if address is None:
            continue
        run(
            "ip",
            "-n",
            netns(name),
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            "p-" + name,
            "netns",
            netns("sw"),
        )
        run("ip", "-n", netns("sw"), "link", "set", "p-" + name, "master", "br0", "up")
        run("ip", "-n", netns(name), "addr", "add", address + "/24", "dev", "eth0")
        run("ip", "-n", netns(name), "link", "set", "eth0", "up")
        run("ip", "-n", netns(name), "link", "set", "lo", "up")
    run(
        "ip",
        "-n",
        netns("col"),
        "link",
        "add",
        "mirror42",
        "type",
        "vxlan",
        "id",
        str(VNI),
        "dstport",
        "4789",
        "nolearning",
    )
    run("ip", "-n", netns("col"), "link", "set", "mirror42", "up")
    # AWS mirrors each packet on the wire; with segmentation offloads on, the kernel would hand the
    # agent super-packets (one copy for many packets), and the agent's status warns about that.
    # A real host turns them off the same way (docs/agent.md).
    run("ip", "netns", "exec", netns("src"), "ethtool", "-K", "eth0", "tso", "off", "gso", "off", "gro", "off")


def destroy():
    for name in NAMESPACES:
        run("ip", "netns", "del", netns(name), check=False)


def agent(command, state_dir, *extra):
    env = dict(os.environ, PYTHONPATH=str(AGENT_PATH), TMA_STATE_DIR=state_dir)
    return run(
        "ip", "netns", "exec", netns("src"), sys.executable, "-m", "traffic_mirror_agent", command, *extra, env=env
    )


def collector_frames():
    stats = json.loads(run("ip", "-n", netns("col"), "-j", "-s", "link", "show", "mirror42").stdout)
    return stats[0]["stats64"]["rx"]["packets"]


def send(port, count):
    script = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for i in range({0}):\n"
        "    s.sendto(b'demo', ('{1}', {2}))\n"
        "    time.sleep(0.01)\n"
    ).format(count, NAMESPACES["src"], port)
    run("ip", "netns", "exec", netns("peer"), sys.executable, "-c", script)
    time.sleep(0.5)


def main():
    if os.geteuid() != 0:
        print("The agent lab needs root (network namespaces).")
        return 0
    destroy()
    state_dir = tempfile.mkdtemp(prefix="netmirror-demo-")
    config_file = Path(state_dir) / "config.json"
    config_file.write_text(json.dumps(CONFIG, indent=1))
    try:
        build()
        print("\n== Mirroring agent lab: peer -> source (agent) -> collector, VNI {0} ==".format(VNI))
        print("(segmentation offloads off on the source's eth0, so that each packet is mirrored as one copy)")
        print(agent("apply", state_dir, "--config", str(config_file)).stdout.strip() + " (first apply)")
        print(agent("apply", state_dir, "--config", str(config_file)).stdout.strip() + " (second apply: idempotent)")
        for port in (5001, 5002):
            before = collector_frames()
            send(port, 10)
            print("10 datagrams to UDP {0}: {1} copies at the collector".format(port, collector_frames() - before))
        print("\nagent status:\n" + agent("status", state_dir, "--config", str(config_file)).stdout.rstrip())
        print(agent("remove", state_dir).stdout.strip() + " (remove)")
        before = collector_frames()
        send(5001, 10)
        print("after remove, 10 datagrams to UDP 5001: {0} copies".format(collector_frames() - before))
        return 0
    except subprocess.CalledProcessError as error:
        print("agent lab failed: {0}\n{1}{2}".format(error.cmd, error.stdout, error.stderr), file=sys.stderr)
        return 1
    finally:
        destroy()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(5)
    sys.exit(main())
