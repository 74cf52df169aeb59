"""The agent in service mode (`run`) survives what test_agent_service.py does not cover: the mirrored interface
and the underlay going administratively down and up, and a 10x burst of small packets.

Lab (test_agent_service's): src eth0 <-> peer (mirrored, session "a", VNI 501, UDP ingress) and src eth1 <->
collector (the underlay, itself mirrored by session "b", VNI 502, everything both ways: the copies leave by the
interface a session mirrors, so a missing exclusion would loop).

Figures (rates, copies, CPU seconds) are recorded as junit properties for docs/reliability.md.
"""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import test_agent_service
from netlab import Agent
from netlab import in_netns
from test_agent_integration import SRC
from test_agent_service import config
from test_agent_service import copies_of_udp
from test_agent_service import matches
from test_agent_service import wait_for

pytestmark = pytest.mark.netns
lab = test_agent_service.lab  # the fixture: test_agent_service's three-namespace lab

FLAPS = 3
POLL = "0.5"
PAYLOAD = b"b" * 22  # + UDP 8 + IPv4 20 + Ethernet 14 = 64-byte frames
BURST_PORT = 7777
NORMAL_PPS = 10_000
NORMAL_COUNT = 10_000
BURST_FACTOR = 10
BURST_COUNT = 300_000
AGENT_CPU_LIMIT = 0.5  # seconds of the agent's CPU during the burst: copying is the kernel's job


def run_agent(agent, poll_interval=POLL):
    agent.write_config(config())
    proc = agent.popen("run", "--config", agent.config_path, "--poll-interval", poll_interval)
    wait_for(lambda: matches(agent, config()), what="first apply")
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


def log_lines(agent):
    with open(os.path.join(agent.workdir, "run.log")) as handle:
        return handle.read().splitlines()


def set_link(lab, device, state):
    lab.run("src", "ip", "link", "set", device, state)


def test_mirrored_interface_down_and_up(lab, tmp_path, record_property):
    agent = Agent(lab, "src", tmp_path)
    proc = run_agent(agent)
    try:
        assert copies_of_udp(lab).count(501) == 3
        before = log_lines(agent)
        started = time.monotonic()
        for _flap in range(FLAPS):
            set_link(lab, "eth0", "down")
            time.sleep(1.0)  # link events and two poll intervals go by
            assert proc.poll() is None
            assert matches(agent, config())  # the hooks stay on a device that is down
            assert copies_of_udp(lab, count=1) == []  # nothing crosses a down link, nothing is made up
            set_link(lab, "eth0", "up")
            wait_for(lambda: copies_of_udp(lab).count(501) == 3, timeout=10, what="mirroring after eth0 up")
        assert matches(agent, config())
        added = log_lines(agent)[len(before) :]
        record_property("flaps", FLAPS)
        record_property("flap_seconds", round(time.monotonic() - started, 1))
        record_property("log_lines_during_flaps", len(added))
        # no error loop: the agent had nothing to fix, so it said (next to) nothing
        assert len(added) <= FLAPS, added
        assert not [line for line in added if "failed" in line or "Traceback" in line], added
    finally:
        stop(proc)


def test_underlay_down_and_up(lab, tmp_path, record_property):
    """eth1 carries the copies to the collector: down, the target is unreachable and the agent can only wait;
    up, mirroring resumes without a restart, and the log does not fill with retries."""
    agent = Agent(lab, "src", tmp_path)
    proc = run_agent(agent)
    try:
        before = log_lines(agent)
        set_link(lab, "eth1", "down")
        time.sleep(2.5)  # five poll intervals
        assert proc.poll() is None
        set_link(lab, "eth1", "up")
        wait_for(lambda: copies_of_udp(lab).count(501) == 3, timeout=10, what="mirroring after eth1 up")
        wait_for(lambda: matches(agent, config()), what="matching after eth1 up")
        added = log_lines(agent)[len(before) :]
        record_property("log_lines_during_underlay_outage", len(added))
        assert len(added) <= 2, added
    finally:
        stop(proc)


# --- a 10x burst -------------------------------------------------------------------------------------------------

COUNTERS = (
    """
table netdev tmat_count {
  chain copies_in {
    type filter hook ingress device "eth0" priority 0;
    ip protocol udp udp dport 4789 counter comment "copies"
    ip protocol udp udp dport 4789 @th,416,16 %d counter comment "copies of the burst"
    ip protocol udp udp dport 4789 @th,312,8 17 @th,416,16 4789 counter comment "copies of copies"
  }
}
"""
    % BURST_PORT
)


def collector_counts(lab):
    """Packets counted by the collector's rules, by comment (the inner UDP port sits at @th,416 after the outer UDP,
    VXLAN, inner Ethernet and a 20-byte inner IPv4 header)."""
    data = json.loads(lab.run("col", "nft", "-j", "list", "table", "netdev", "tmat_count").stdout)
    counts = {}
    for item in data["nftables"]:
        rule = item.get("rule")
        if rule:
            counter = next(e["counter"] for e in rule["expr"] if "counter" in e)
            counts[rule["comment"]] = counter["packets"]
    return counts


def session_packets(agent, name):
    data = agent.status()
    return next(s["packets"] for s in data["sessions"] if s["name"] == name), data["excluded"].get("copies", 0)


def cpu_seconds(pid):
    """utime + stime of the process and of its waited-for children (the ip/nft it runs)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def send_udp(lab, count, pps):
    """``count`` 64-byte UDP frames from the peer to src, paced at ``pps``; returns the rate achieved."""
    with in_netns(lab.ns("peer")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.monotonic()
    sent = 0
    try:
        while sent < count:
            batch = min(1000, count - sent)
            for _packet in range(batch):
                sock.sendto(PAYLOAD, (SRC, BURST_PORT))
            sent += batch
            ahead = sent / pps - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        sock.close()
    return sent / (time.monotonic() - start)


def kernel_messages():
    """The kernel log's lines. docs/reliability.md states the "Dead loop" check's result, so a kernel log that
    cannot be read fails the test, naming what is missing (it is not skipped)."""
    try:
        proc = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.fail("the Dead loop check reads the kernel log with dmesg; missing: dmesg (util-linux)", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            "the Dead loop check reads the kernel log; dmesg failed (exit %d: %s); it needs root with CAP_SYSLOG, "
            "or kernel.dmesg_restrict=0 (now %s)"
            % (proc.returncode, proc.stderr.strip(), Path("/proc/sys/kernel/dmesg_restrict").read_text().strip()),
            pytrace=False,
        )
    return set(proc.stdout.splitlines())


def new_dead_loop_messages(before):
    """Kernel messages about a transmit loop that were not there ``before`` (lines carry their timestamp)."""
    return sorted(line for line in kernel_messages() - before if "Dead loop" in line or "recursion" in line)


class Phase(object):
    """What one sending phase did: the rate, the packets the agent's rule matched, the copies the collector got,
    and the agent's CPU time."""

    def __init__(self, lab, agent, pid):
        self.lab, self.agent, self.pid = lab, agent, pid

    def run(self, count, pps):
        matched, copies_excluded = session_packets(self.agent, "a")
        counts = collector_counts(self.lab)
        cpu = cpu_seconds(self.pid)
        self.rate = send_udp(self.lab, count, pps)
        time.sleep(0.5)  # the last copies drain
        self.cpu = cpu_seconds(self.pid) - cpu
        now_matched, now_excluded = session_packets(self.agent, "a")
        self.matched = now_matched - matched
        self.excluded_copies = now_excluded - copies_excluded
        now = collector_counts(self.lab)
        self.copies = {what: now[what] - counts[what] for what in now}
        return self


def test_a_10x_burst_makes_no_loop_and_costs_the_agent_no_cpu(lab, tmp_path, record_property):
    agent = Agent(lab, "src", tmp_path)
    proc = run_agent(agent, poll_interval="5")  # the unit's default poll interval
    kernel_before = kernel_messages()
    lab.run("col", "nft", "-f", "-", input_text=COUNTERS)
    try:
        normal = Phase(lab, agent, proc.pid).run(NORMAL_COUNT, NORMAL_PPS)
        burst = Phase(lab, agent, proc.pid).run(BURST_COUNT, NORMAL_PPS * BURST_FACTOR)
        for name, phase in (("normal", normal), ("burst", burst)):
            record_property(name + "_pps", round(phase.rate))
            record_property(name + "_sent", NORMAL_COUNT if name == "normal" else BURST_COUNT)
            record_property(name + "_matched", phase.matched)
            record_property(name + "_copies", phase.copies["copies"])
            record_property(name + "_agent_cpu_s", round(phase.cpu, 3))
        record_property("burst_rate_ratio", round(burst.rate / normal.rate, 1))

        assert burst.rate >= 4 * normal.rate, "the sender could not make a burst: %.0f vs %.0f pps" % (
            burst.rate,
            normal.rate,
        )
        for phase, sent in ((normal, NORMAL_COUNT), (burst, BURST_COUNT)):
            # every copy is a copy of one matched packet: no loop, no copies of copies
            assert phase.copies["copies of copies"] == 0
            assert phase.copies["copies"] == phase.copies["copies of the burst"]
            assert phase.copies["copies"] <= phase.matched <= sent
            assert phase.matched >= 0.9 * sent  # the burst was really seen and copied...
            assert phase.copies["copies"] >= 0.9 * phase.matched
            # ...and each copy leaving by the mirrored underlay was excluded there, not copied again
            assert phase.excluded_copies >= phase.copies["copies"]
        assert burst.cpu < AGENT_CPU_LIMIT, burst.cpu
        assert proc.poll() is None
        assert matches(agent, config())
        assert new_dead_loop_messages(kernel_before) == []
    finally:
        stop(proc)
