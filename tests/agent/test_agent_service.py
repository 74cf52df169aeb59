"""Service mode (`run`): interfaces vanishing and coming back, SIGHUP, drift repair,
kill -9 and restart, SIGTERM."""

import json
import os
import signal
import time

import pytest
from netlab import Agent
from netlab import Lab
from netlab import kernel_snapshot
from netlab import settle
from netlab import udp_copies
from test_agent_integration import COLLECTOR
from test_agent_integration import PEER
from test_agent_integration import SRC
from test_agent_integration import rule

pytestmark = pytest.mark.netns


def config(vni_a=501, vni_b=502):
    return {
        "sessions": [
            {
                "name": "a",
                "network_interface": "eth0",
                "session_number": 1,
                "virtual_network_id": vni_a,
                "target": {"address": COLLECTOR},
                "filter": {"ingress_rules": [rule(1, protocol=17)]},
            },
            # mirrors the interface the copies leave by: they must not loop
            {
                "name": "b",
                "network_interface": "eth1",
                "session_number": 1,
                "virtual_network_id": vni_b,
                "target": {"address": COLLECTOR},
                "filter": {"ingress_rules": [rule(1)], "egress_rules": [rule(1)]},
            },
        ]
    }


def veth_to_peer(lab):
    lab.link("src", "eth0", "peer", "eth0")
    lab.addr("src", "eth0", SRC + "/24")
    lab.addr("peer", "eth0", PEER + "/24")
    lab.route("peer", "default", "via", SRC)


@pytest.fixture
def lab(datapath):
    lab = Lab(datapath)
    try:
        for role in ("src", "peer", "col"):
            lab.add_host(role)
        veth_to_peer(lab)
        lab.link("src", "eth1", "col", "eth0")
        lab.addr("src", "eth1", "198.18.1.1/24")
        lab.addr("col", "eth0", COLLECTOR + "/24")
        lab.route("col", "default", "via", "198.18.1.1")
        settle(lab, ("src", "peer", "col"))
        yield lab
    finally:
        lab.close()


def wait_for(predicate, timeout=60.0, what="condition"):
    # a bound, not a timing check: a TCG guest of the kernel matrix takes seconds per agent start and apply
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def status_with(agent, cfg):
    path = agent.write_config(cfg, os.path.join(agent.workdir, "expected.json"))
    return json.loads(agent("status", "--json", "--config", path).stdout)


def matches(agent, cfg):
    data = status_with(agent, cfg)
    return data["matches"] and data


def copies_of_udp(lab, count=3):
    """Send UDP from peer to src; return the VNIs of the copies the collector got."""
    return [vni for vni, _inner in udp_copies(lab, b"service-test", 7777, count)]


def agent_devices(lab):
    links = json.loads(lab.run("src", "ip", "-j", "link", "show").stdout)
    return {link["ifname"] for link in links if link["ifname"].startswith("tma")}


def test_run_follows_interfaces_signals_and_recovers_from_kill_9(lab, tmp_path):
    agent = Agent(lab, "src", tmp_path)
    pristine = kernel_snapshot(lab, "src")
    agent.write_config(config())
    proc = agent.popen("run", "--config", agent.config_path, "--poll-interval", "0.5")
    try:
        wait_for(lambda: matches(agent, config()), what="first apply")
        assert copies_of_udp(lab).count(501) == 3

        # the interface vanishes: its session's objects go, the other session stays
        lab.run("src", "ip", "link", "del", "eth0")

        def eth0_gone():
            data = status_with(agent, config())
            return [p for p in data["problems"] if "absent" not in p] == [] and len(agent_devices(lab)) == 1

        wait_for(eth0_gone, what="eth0's session removed")
        # ... and comes back (a new interface with the same name): mirrored again
        veth_to_peer(lab)
        wait_for(lambda: matches(agent, config()), what="re-apply after eth0 came back")
        assert copies_of_udp(lab).count(501) == 3

        # drift is repaired: someone deletes a vxlan device
        lab.run("src", "ip", "link", "del", sorted(agent_devices(lab))[0])
        wait_for(lambda: matches(agent, config()), what="drift repaired")

        # SIGHUP with a bad config: logged, the running state kept
        with open(agent.config_path, "w") as handle:
            handle.write('{"sessions": [{"name": "a"}]}')
        proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: "invalid config kept out" in open(os.path.join(agent.workdir, "run.log")).read(),
            what="bad config logged",
        )
        assert proc.poll() is None
        assert matches(agent, config())
        # SIGHUP with a good new config: applied
        agent.write_config(config(vni_a=601))
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: matches(agent, config(vni_a=601)), what="reloaded config applied")
        assert copies_of_udp(lab).count(601) == 3

        # kill -9: the kernel keeps the last consistent state
        proc.kill()
        proc.wait(timeout=5)
        assert matches(agent, config(vni_a=601))
        assert copies_of_udp(lab).count(601) == 3
        # damage while nobody watches, then restart: recovered
        if lab.datapath == "ebpf":  # the program on eth0's ingress goes
            lab.run("src", "tc", "filter", "del", "dev", "eth0", "ingress", "pref", "49")
        else:
            lab.run("src", "nft", "flush", "chain", "netdev", "traffic_mirror_agent", "state")
        assert not status_with(agent, config(vni_a=601))["matches"]
        proc = agent.popen("run", "--config", agent.config_path, "--poll-interval", "0.5")
        wait_for(lambda: matches(agent, config(vni_a=601)), what="recovery after restart")

        # SIGTERM: everything the agent made is gone, nothing else
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        after = kernel_snapshot(lab, "src")
        # eth0 was re-created (new ifindex): compare everything but the links' identity
        assert after["nft"] == pristine["nft"] == ""
        assert agent_devices(lab) == set()
        assert after["qdiscs"] == pristine["qdiscs"] or "tma" not in after["qdiscs"]
        assert after["filters"] == pristine["filters"] == {}
        assert "clsact" not in after["qdiscs"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_run_with_invalid_config_exits_2(lab, tmp_path):
    agent = Agent(lab, "src", tmp_path)
    with open(agent.config_path, "w") as handle:
        handle.write("{}}")
    proc = agent.popen("run", "--config", agent.config_path)
    assert proc.wait(timeout=10) == 2
    assert "invalid config" in open(os.path.join(agent.workdir, "run.log")).read()
    assert agent_devices(lab) == set()
