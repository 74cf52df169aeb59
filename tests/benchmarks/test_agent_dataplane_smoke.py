"""benchmarks/agent_dataplane.py --quick, on a subset of its rows: the lab, the paired runs, the kernel copy
counters, the loss sweep and a userspace tap all still work, and the result renders into docs/performance.md's
section. The figures of a one-second run mean nothing; only their shape and sense are checked."""

import agent_dataplane

from helpers.quick_benchmark import PNG_MAGIC
from helpers.quick_benchmark import quick_run_fixture

# As tests/agent: network namespaces need root; CI runs these as root.
# Needs root and network namespaces: tests/conftest.py (HOST_TESTS) fails it, naming what is missing.

ROWS = ("agent eBPF: ~10% filter", "agent eBPF: everything", "agent nftables: everything", "daemonlogger soft tap")


quick_run = quick_run_fixture(agent_dataplane, "--methods", ",".join(ROWS))


def test_every_row_ran_against_a_baseline_of_the_same_run(quick_run):
    _, result = quick_run
    rows = {row["method"]: row for row in result["rows"]}
    assert list(rows) == ["no mirroring", *ROWS]
    assert result["baseline"]["udp_pps"] > 1000 and result["baseline"]["tcp_bps"] > 1e6
    for row in rows.values():
        assert len(row["pairs"]) == 1
        assert 0 < row["udp_ratio"] < 3 and 0 < row["tcp_ratio"] < 3


def test_the_kernel_paths_copy_what_their_filter_selects(quick_run):
    _, result = quick_run
    rows = {row["method"]: row for row in result["rows"]}
    tenth = rows["agent eBPF: ~10% filter"]["pairs"][0]["method"]
    for path in ("agent eBPF: everything", "agent nftables: everything"):
        # everything: about every packet that crossed the interface; none lost at this load
        assert rows[path]["pairs"][0]["method"]["udp"]["copies_received"] > 1000
        assert rows[path]["udp_delivered"] > 0.99
        assert rows[path]["sweep"] and rows[path]["max_rate_999"] > 0
    # the 10% filter selected one of ten streams: far fewer copies than packets
    for kind in ("udp", "tcp"):
        assert 0 < tenth[kind]["copies_expected"]
        assert tenth[kind]["copies_received"] <= tenth[kind]["copies_expected"] * 1.01
    # the loss sweep ran for the mirror-everything paths
    assert rows["daemonlogger soft tap"]["sweep"]


def test_no_mirroring_copies_nothing_and_the_userspace_tap_copies_something(quick_run):
    _, result = quick_run
    rows = {row["method"]: row for row in result["rows"]}
    baseline = rows["no mirroring"]["pairs"][0]["method"]
    assert baseline["udp"]["copies_received"] == 0 and baseline["tcp"]["copies_received"] == 0
    tap = rows["daemonlogger soft tap"]["pairs"][0]["method"]
    assert tap["udp"]["copies_received"] + tap["tcp"]["copies_received"] > 0


def test_renders_tables_goals_and_plots(quick_run):
    out, result = quick_run
    text = agent_dataplane.render_markdown(result)
    assert "QUICK SMOKE RUN" in text
    assert "| agent eBPF: everything |" in text and "### Goals" in text
    assert "### The eBPF program's own cost" in text
    for png in ("agent_dataplane_rates.png", "agent_dataplane_delivered.png", "agent_dataplane_zero_loss.png"):
        assert (out / png).read_bytes().startswith(PNG_MAGIC)
        assert "performance/%s" % png in text


def test_each_agent_program_is_measured_beside_the_no_op(quick_run):
    _, result = quick_run
    costs = {row["program"]: row for row in result["program_costs"]}
    assert costs["no-op (returns at once)"]["instructions"] == 2
    for kind in ("filter matches nothing", "~10% filter"):
        for direction, frame in (("ingress", "UDP 64-byte in (ns)"), ("egress", "TCP ACK out (ns)")):
            row = costs["agent eBPF: %s, %s program" % (kind, direction)]
            assert row["instructions"] > 100 and row[frame] > 0
