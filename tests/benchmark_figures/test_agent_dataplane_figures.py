"""How benchmarks/agent_dataplane.py turns counts into published figures, without running a benchmark (so this
runs anywhere; tests/benchmarks/ runs the benchmark itself and needs root and the userspace taps)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import agent_dataplane  # noqa: E402


def test_delivered_reports_extra_copies_instead_of_capping():
    """A run that received more copies than expected (one published row: 1,463,566 for 1,463,564) shows it."""
    run = {"copies_expected": 1463564, "copies_received": 1463566}
    assert agent_dataplane.delivered(run) == 1463566 / 1463564 > 1.0
    assert agent_dataplane.extra_copies(run) == 2
    assert agent_dataplane.extra_copies({"copies_expected": 10, "copies_received": 7}) == 0
    row = {"method": "agent: everything", "pairs": [{"method": {"udp": run, "tcp": dict(run, copies_received=5)}}]}
    assert agent_dataplane.extra_copies_line([row]) == (
        "*Extra copies* (received beyond expected, summed over the pairs): agent: everything UDP: 2 more than "
        "the 1463564 expected."
    )
    assert agent_dataplane.extra_copies_line([]).endswith(": none.")
