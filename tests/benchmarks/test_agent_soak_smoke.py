"""benchmarks/agent_soak.py --quick: the agent's `run` service under traffic, reloads and link flaps in network
namespaces; the result has the shape docs/performance.md is built from, with figures that make sense."""

import math

import agent_soak

from helpers.quick_benchmark import assert_markdown_links_its_plots
from helpers.quick_benchmark import assert_names_benchmark_and_machine
from helpers.quick_benchmark import quick_run_fixture

# As tests/agent: network namespaces need root; CI runs these as root.
# Needs root and network namespaces: tests/conftest.py (HOST_TESTS) fails it, naming what is missing.

quick_run = quick_run_fixture(agent_soak)


def test_result_names_the_benchmark_and_the_machine(quick_run):
    result = quick_run[1]
    assert_names_benchmark_and_machine(result, "agent_soak")
    assert "traffic_mirror_agent run" in result["agent"]["sampled_command"]


def test_rss_and_cpu_were_sampled_through_the_run(quick_run):
    result = quick_run[1]
    samples, summary = result["samples"], result["summary"]
    assert len(samples) >= 10 and summary["samples"] == len(samples)
    assert all(s["rss_kib"] > 0 for s in samples)
    times = [s["t_s"] for s in samples]
    assert times == sorted(times) and times[-1] >= result["settings"]["minutes"] * 60
    assert summary["rss_min_kib"] <= summary["rss_start_kib"] <= summary["rss_max_kib"]
    assert summary["rss_min_kib"] <= summary["rss_end_kib"] <= summary["rss_max_kib"]
    assert 5 * 1024 < summary["rss_max_kib"] < 1024 * 1024
    assert math.isfinite(summary["slope_kib_per_min"]) and math.isfinite(summary["slope_second_half_kib_per_min"])
    assert summary["agent_cpu_s"] > 0 and summary["children_cpu_s"] > 0


def test_churn_ran_both_reconcile_paths_and_the_agent_stayed_healthy(quick_run):
    result = quick_run[1]
    kinds = [e["what"].split(" ")[0] for e in result["events"]]
    assert "SIGHUP" in kinds and "eth0" in kinds
    agent = result["agent"]
    assert agent["log_reloads"] == kinds.count("SIGHUP")
    assert agent["log_failures"] == 0
    assert agent["matches_config_at_end"] is True
    assert agent["sigterm_exit_code"] == 0 and agent["tables_left_after_sigterm"] == 0


def test_copies_were_delivered_once_per_mirrored_datagram(quick_run):
    result = quick_run[1]
    traffic = result["traffic"]
    assert traffic["sent"] > 0 and 0 < traffic["expected"] <= traffic["sent"]
    assert 0 < traffic["delivered"] <= traffic["expected"]
    assert traffic["delivered"] >= 0.95 * traffic["expected"], traffic


def test_markdown_has_the_table_and_links_the_plot_it_wrote(quick_run):
    out, result = quick_run
    text = agent_soak.render_markdown(result)
    assert_markdown_links_its_plots(text, out, "## Agent soak", "agent_soak.png")
    assert "| copies delivered / expected |" in text
