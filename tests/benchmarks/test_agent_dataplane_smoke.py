"""benchmarks/agent_dataplane.py --quick, on a subset of its rows: the lab, the paired runs, the kernel copy
counters, the loss sweep and a userspace tap all still work, and the result renders into docs/performance.md's
section. The figures of a one-second run mean nothing; only their shape and sense are checked."""

import json

import agent_dataplane
import pytest

# As tests/agent: network namespaces need root; CI runs these as root.
# Needs root and network namespaces: tests/conftest.py (HOST_TESTS) fails it, naming what is missing.

ROWS = ("agent: ~10% filter", "agent: everything", "daemonlogger soft tap")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("agent_dataplane")
    agent_dataplane.main(["--quick", "--out", str(out), "--methods", ",".join(ROWS)])
    return out, json.loads((out / "agent_dataplane.json").read_text())


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
    everything = rows["agent: everything"]["pairs"][0]["method"]
    tenth = rows["agent: ~10% filter"]["pairs"][0]["method"]
    # everything: about every packet that crossed the interface; none lost at this load
    assert everything["udp"]["copies_received"] > 1000
    assert rows["agent: everything"]["udp_delivered"] > 0.99
    # the 10% filter selected one of ten streams: far fewer copies than packets
    for kind in ("udp", "tcp"):
        assert 0 < tenth[kind]["copies_expected"]
        assert tenth[kind]["copies_received"] <= tenth[kind]["copies_expected"] * 1.01
    # the loss sweep ran for the mirror-everything paths
    assert rows["agent: everything"]["sweep"] and rows["daemonlogger soft tap"]["sweep"]
    assert rows["agent: everything"]["max_rate_999"] > 0


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
    assert "| agent: everything |" in text and "### Goals" in text
    for png in ("agent_dataplane_rates.png", "agent_dataplane_delivered.png", "agent_dataplane_zero_loss.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "performance/%s" % png in text
