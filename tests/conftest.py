"""Shared pytest set-up: the collection importable as ansible_collections.netmirror.traffic_mirror,
the offline EC2 endpoint importable as offline_ec2; and the rule that a green `make test` means
every test ran.

Tests that need the host (root, network namespaces, Debian packages) live in HOST_TESTS. Under
`make test` a host test whose needs are missing fails, naming what is missing; any skip at all
fails the run. `make test-quick` (NETMIRROR_TEST_SCOPE=quick) leaves the host tests out and says
so at the end.
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from helpers.molecule import link_collection  # noqa: E402 - after tests/ is importable

COLLECTIONS_ROOT = link_collection()  # ansible_collections/netmirror/traffic_mirror -> the repository root
sys.path.insert(0, str(COLLECTIONS_ROOT))
sys.path.insert(0, str(REPO / "tools"))  # the offline EC2 endpoint
sys.path.insert(0, str(REPO / "harness"))  # netns_lab, aws_lab, reliability_report
try:
    from netns_lab import AGENT_PATH  # noqa: E402 - after harness/ is importable
except ImportError:  # ansible-test units runs on the Galaxy build, which leaves harness/ out: no agent tests there
    pass
else:
    sys.path.insert(0, AGENT_PATH)  # the agent package
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_ROOT))


@pytest.fixture(scope="session")
def endpoint():
    """One offline EC2 endpoint (a real HTTP server on 127.0.0.1) for the whole run."""
    from offline_ec2.testing import OfflineEC2

    with OfflineEC2() as server:
        yield server


# tests/output holds the collection link back to the repository root: never collect through it.
collect_ignore = ["output"]

QUICK = os.environ.get("NETMIRROR_TEST_SCOPE") == "quick"

# path under tests/ -> (what it needs, the tools it calls); the tools are checked before each test.
HOST_TESTS = {
    "agent/": ("root and network namespaces", ("ip", "tc", "nft", "ethtool")),
    "benchmarks/": (
        "root, network namespaces, iperf3 and the userspace taps",
        ("ip", "tc", "nft", "ethtool", "iperf3", "daemonlogger", "netsniff-ng", "/usr/bin/time"),
    ),
    "roles/test_molecule.py": (
        "root, debootstrap and systemd-nspawn (booted Debian hosts over SSH)",
        ("debootstrap", "systemd-nspawn", "ssh", "ssh-keygen"),
    ),
    "roles/test_role_refusals.py": ("root (a PID namespace with a plain init)", ("unshare",)),
    "demo/": ("root and network namespaces (the agent lab)", ("ip", "tc", "nft", "ethtool")),
    "security/test_unit_hardening.py": ("systemd-analyze", ("systemd-analyze",)),
    "vm/": (
        "root, debootstrap and qemu-system-x86 (a Debian 11 VM)",
        ("debootstrap", "qemu-system-x86_64", "mkfs.ext4", "ssh", "ssh-keygen"),
    ),
}


def _host_needs(item):
    relative = Path(str(item.fspath)).resolve().relative_to(REPO / "tests").as_posix()
    for prefix, needs in HOST_TESTS.items():
        if relative.startswith(prefix):
            return prefix, needs
    return None, None


def pytest_collection_modifyitems(config, items):
    if not QUICK:
        return
    kept, left_out = [], {}
    for item in items:
        prefix, needs = _host_needs(item)
        if prefix is None:
            kept.append(item)
        else:
            left_out.setdefault(prefix, [needs[0], 0])[1] += 1
    config._netmirror_left_out = left_out
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_runtest_setup(item):
    prefix, needs = _host_needs(item)
    if prefix is None:
        return
    from host_prerequisites import missing_tools

    missing = missing_tools(needs[1], root=needs[0].startswith("root"))
    if missing:
        pytest.fail("%s needs %s; missing: %s" % (prefix, needs[0], "; ".join(missing)), pytrace=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    left_out = getattr(config, "_netmirror_left_out", None)
    if QUICK:
        terminalreporter.section("make test-quick: left out (run `make test` as root for these)")
        for prefix, (needs, count) in sorted((left_out or {}).items()):
            terminalreporter.write_line("tests/%s: %d tests (need %s)" % (prefix, count, needs))
        return
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.section("skipped tests fail `make test`")
        for report in skipped:
            terminalreporter.write_line("%s: %s" % (report.nodeid, report.longrepr[-1] if report.longrepr else ""))


def pytest_sessionfinish(session, exitstatus):
    # A green run means every test ran: outside test-quick, a skip is a failure.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not QUICK and reporter is not None and reporter.stats.get("skipped") and session.exitstatus == 0:
        session.exitstatus = 1
