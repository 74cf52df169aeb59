"""What only the eBPF data path has: programs loaded with bpf(BPF_PROG_LOAD) and swapped by ``tc filter
replace``. A re-apply with nothing changed loads no program and touches no filter (strace of the agent's
bpf() calls); a program replaced under traffic neither doubles nor drops a copy; a program the verifier
refuses is an error naming the interface and the verifier's first lines, and the previous program stays and
keeps mirroring; remove leaves the kernel and the bpf filesystem as they were.

Lab: conftest's (netlab.topology(): src eth0 <-> peer, src eth1 <-> collector), the agent mirroring src eth0.
"""

import glob
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
from netlab import Capture
from netlab import drain_all
from netlab import in_netns
from netlab import kernel_snapshot
from netlab import parse_vxlan
from test_agent_integration import COLLECTOR
from test_agent_integration import SRC
from test_agent_integration import rule

pytestmark = pytest.mark.netns

PORT = 9000
VNI = 701


@pytest.fixture(scope="module")
def datapath():
    """eBPF only: conftest's lab and agent run with it."""
    return "ebpf"


def config(extra_port=None, datapath="ebpf"):
    rules = [rule(10, protocol=17, destination_port_range={"from_port": PORT, "to_port": PORT})]
    if extra_port is not None:  # a rule no test packet matches: a different program, the same copies
        rules.append(rule(20, protocol=6, destination_port_range={"from_port": extra_port, "to_port": extra_port}))
    return {
        "datapath": datapath,
        "sessions": [
            {
                "name": "udp",
                "network_interface": "eth0",
                "session_number": 1,
                "virtual_network_id": VNI,
                "target": {"address": COLLECTOR},
                "filter": {"ingress_rules": rules},
            }
        ],
    }


def bpf_calls(agent, *args):
    """Run the agent under strace; (completed process, the bpf() commands it made)."""
    trace = os.path.join(agent.workdir, "strace.out")
    command = agent.command(*args)
    command[4:4] = ["strace", "-f", "-qq", "-e", "trace=bpf", "-o", trace]  # after "ip netns exec <ns>"
    proc = subprocess.run(command, capture_output=True, text=True, env=agent.env(), check=False)
    with open(trace) as handle:
        calls = [line.split("bpf(", 1)[1].split(",", 1)[0] for line in handle if "bpf(" in line]
    return proc, calls


@pytest.mark.parametrize("datapath", ["ebpf", "auto"])
def test_reapply_with_nothing_changed_loads_no_program_and_touches_no_filter(lab, agent, datapath):
    proc, calls = bpf_calls(agent, "apply", "--config", agent.write_config(config(datapath=datapath)))
    assert proc.returncode == 0 and proc.stdout.strip() == "changed", proc.stderr
    assert calls.count("BPF_PROG_LOAD") >= 2, calls  # one program per direction at least (the trace works)
    applied = kernel_snapshot(lab, "src")
    assert "name tma_" in applied["filters"]["eth0 ingress"]
    proc, calls = bpf_calls(agent, "apply", "--config", agent.write_config(config(datapath=datapath)))
    assert proc.returncode == 0 and proc.stdout.strip() == "unchanged", proc.stderr
    assert "BPF_PROG_LOAD" not in calls, calls
    assert kernel_snapshot(lab, "src") == applied  # the same filters, with the same program ids


def send_numbered(lab, count, rate, busy=None, tail=300, seconds=120):
    """UDP from peer to src:PORT, each payload a sequence number; returns how many were sent. ``count`` at
    ``rate``; then, while ``busy()`` is still true (a program swapper on a slow machine: a TCG guest takes
    seconds per apply), 100 a second for at most ``seconds``; then ``tail`` more, so that what ``busy`` stands
    for ends inside the traffic. At most count + 100 * seconds + tail datagrams."""
    with in_netns(lab.ns("peer")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sent = send_paced(sock, 0, count, rate)
        deadline = time.monotonic() + seconds
        while busy is not None and busy() and time.monotonic() < deadline:
            sent = send_paced(sock, sent, 10, 100)
        if busy is not None:
            sent = send_paced(sock, sent, tail, rate)
    finally:
        sock.close()
    return sent


def send_paced(sock, first, count, rate):
    """Datagrams numbered first .. first + count - 1 at ``rate`` a second; returns the next number."""
    start = time.monotonic()
    for number in range(first, first + count):
        sock.sendto(b"seq" + struct.pack("!I", number) + b"." * 32, (SRC, PORT))
        ahead = (number - first + 1) / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    return first + count


def copied_sequence_numbers(frames):
    numbers = []
    for _pkt_type, data in frames:
        parsed = parse_vxlan(data)
        if parsed and parsed[0] == VNI:
            inner = parsed[1]
            at = inner.find(b"seq")
            if at >= 0:
                numbers.append(struct.unpack("!I", inner[at + 3 : at + 7])[0])
    return numbers


def test_a_program_replaced_under_traffic_neither_doubles_nor_drops_copies(lab, agent):
    agent.apply(config())
    first = kernel_snapshot(lab, "src")["filters"]["eth0 ingress"]
    with in_netns(lab.ns("src")):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind((SRC, PORT))
    collector = Capture(lab, "col", "eth0")
    replaced = []

    def replace_repeatedly():
        for extra in range(5):  # five swaps while the packets flow
            time.sleep(0.15)
            replaced.append(agent.apply(config(extra_port=1000 + extra)).stdout.strip())

    swapper = threading.Thread(target=replace_repeatedly)
    try:
        swapper.start()
        sent = send_numbered(lab, 6000, rate=3000, busy=swapper.is_alive)
        swapper.join()
        (frames,) = drain_all([collector], quiet=0.3)
    finally:
        collector.close()
        sink.close()
    assert replaced == ["changed"] * 5
    assert kernel_snapshot(lab, "src")["filters"]["eth0 ingress"] != first  # the program was swapped
    numbers = copied_sequence_numbers(frames)
    doubled = len(numbers) - len(set(numbers))
    missing = sorted(set(range(sent)) - set(numbers))
    assert doubled == 0 and missing == [], "doubled %d, missing %d of %d (first %s)" % (
        doubled,
        len(missing),
        sent,
        missing[:10],
    )
    status = agent.status()
    assert status["matches"] is True
    (rule10,) = [r for r in status["sessions"][0]["rules"] if r["rule_number"] == 10]
    # the last program's counters count only what it saw: at most every copy, and some of them
    assert 0 < rule10["packets"] <= sent


BAD_PROGRAM = """
import sys
from traffic_mirror_agent import asm, cli, compiler

real = compiler.compile_program


def refused(*args, **kwargs):
    compiled = real(*args, **kwargs)
    bad = asm.Program().mov(asm.R0, asm.R2).exit()  # reads R2 before it is set: the verifier refuses it
    return compiler.Compiled(bad.assemble(), compiled.slots, compiled.refs)


compiler.compile_program = refused
sys.exit(cli.main(sys.argv[1:]))
"""


def copies(lab, count=20):
    collector = Capture(lab, "col", "eth0")
    try:
        send_numbered(lab, count, rate=1000)
        (frames,) = drain_all([collector], quiet=0.2)
    finally:
        collector.close()
    return len(set(copied_sequence_numbers(frames)))


def test_a_program_the_verifier_refuses_is_named_and_the_previous_one_stays(lab, agent):
    agent.apply(config())
    applied = kernel_snapshot(lab, "src")
    assert copies(lab) == 20
    command = agent.command("apply", "--config", agent.write_config(config(extra_port=22)))
    python = command.index(sys.executable)
    command[python + 1 : python + 3] = ["-c", BAD_PROGRAM]  # instead of "-m traffic_mirror_agent"
    proc = subprocess.run(command, capture_output=True, text=True, env=agent.env(), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("traffic_mirror_agent: eth0 egress: the kernel refused the eBPF data path program: ")
    assert "verifier: " in message and "R2 !read_ok" in message, message
    assert "processed" not in message.split("R2 !read_ok")[0]  # the first lines, not the summary at the end
    assert kernel_snapshot(lab, "src") == applied  # the same programs, devices and qdiscs
    assert copies(lab) == 20  # and they still mirror
    assert agent.status()["interfaces"]["eth0"]["datapath"] == "ebpf"


def bpffs_state():
    """What the agent could leave in bpf filesystems: pins in mounted ones, and its private mount points."""
    pins = []
    with open("/proc/self/mounts") as handle:
        for line in handle:
            fields = line.split()
            if fields[2] == "bpf":
                for root, _dirs, files in os.walk(fields[1]):
                    pins.extend(os.path.join(root, name) for name in files)
    return sorted(pins), sorted(glob.glob("/tmp/tma-bpffs-*"))


def test_remove_restores_the_kernel_and_the_bpf_filesystem(lab, agent):
    # someone else's clsact filter on the mirrored interface: it and its qdisc must stay
    lab.run("src", "tc", "qdisc", "add", "dev", "eth1", "clsact")
    lab.run(
        "src",
        "tc",
        "filter",
        "add",
        "dev",
        "eth1",
        "ingress",
        "pref",
        "7",
        "protocol",
        "all",
        "u32",
        "match",
        "u32",
        "0",
        "0",
        "flowid",
        "1:1",
    )
    before, bpffs_before = kernel_snapshot(lab, "src"), bpffs_state()
    config_with_eth1 = config()
    config_with_eth1["sessions"].append(
        dict(config_with_eth1["sessions"][0], name="other", network_interface="eth1", virtual_network_id=702)
    )
    agent.apply(config_with_eth1)
    during = kernel_snapshot(lab, "src")
    assert "name tma_" in during["filters"]["eth0 ingress"] and "name tma_" in during["filters"]["eth1 egress"]
    assert "u32" in during["filters"]["eth1 ingress"]
    assert agent("remove").stdout.strip() == "changed"
    assert kernel_snapshot(lab, "src") == before
    assert bpffs_state() == bpffs_before


def test_counters_of_a_program_replaced_since_the_snapshot_are_empty_not_an_error():
    """status reads the program ids, then their maps; a service's apply may replace a program in between (seen
    as "reading the eBPF counters failed: No such file or directory" from status during drift repair)."""
    from traffic_mirror_agent import ebpf_path

    assert ebpf_path.counters("eth0", "ingress", (1 << 31) - 1) == []
