"""benchmarks/agent_control_plane.py --quick: the real agent CLI in network namespaces; the result has the
shape docs/performance.md is built from, and a re-apply with no change changes nothing."""

import agent_control_plane

from helpers.quick_benchmark import assert_markdown_links_its_plots
from helpers.quick_benchmark import assert_names_benchmark_and_machine
from helpers.quick_benchmark import quick_run_fixture

# As tests/agent: network namespaces need root; CI runs these as root.
# Needs root and network namespaces: tests/conftest.py (HOST_TESTS) fails it, naming what is missing.

quick_run = quick_run_fixture(agent_control_plane)


def test_result_names_the_benchmark_the_machine_and_the_sizes(quick_run):
    result = quick_run[1]
    assert_names_benchmark_and_machine(result, "agent_control_plane")
    assert [s["interfaces"] for s in result["sizes"]] == list(agent_control_plane.QUICK_SIZES)
    for size in result["sizes"]:
        assert size["sessions"] == size["interfaces"] * 3
        assert size["repeats"] == agent_control_plane.QUICK_REPEATS


def test_apply_makes_one_device_and_filter_per_session_and_rules_grow_with_interfaces(quick_run):
    result = quick_run[1]
    rules = []
    for size in result["sizes"]:
        objects = size["objects"]
        assert objects["vxlan_devices"] == objects["truncation_filters"] == size["sessions"], objects
        assert objects["nft_chains"] > 0 and objects["nft_anonymous_sets"] > 0
        assert objects["data_path_programs"] == 0
        first = size["apply_first"]["steps"]
        assert first["nft -f"]["count"] == 1
        # the devices are made by two `ip -b` batches (add and alias; then up), not three `ip` per device
        assert first["ip"]["count"] == 2 and "ip link add" not in first, first
        rules.append(objects["nft_rules"])
    assert rules == sorted(rules) and rules[0] > 20 * 2 * 3  # 3 sessions x 10 rules x 2 directions, and more


def test_reapply_without_change_says_so_and_touches_nothing(quick_run):
    result = quick_run[1]
    for size in result["sizes"]:
        again = size["apply_again"]
        assert again["reported"] == ["unchanged"]
        assert again["kernel_untouched"] is True
        assert not {"nft -f", "ip link add", "tc filter replace"} & set(again["steps"]), again["steps"]
        assert size["status"]["matches"] is True
        assert size["remove"]["reported"] == ["changed"] and size["remove"]["left_behind"] == 0


def test_times_and_memory_are_measured_and_sane(quick_run):
    result = quick_run[1]
    for size in result["sizes"]:
        for command in agent_control_plane.COMMANDS:
            figures = size[command]
            assert 0 < figures["inside_s"] < figures["wall_s"] < 60, (command, figures)
            assert 5 * 1024 < figures["agent_peak_rss_kib"] < 1024 * 1024, (command, figures)
            assert figures["agent_cpu_s"] > 0
        children = size["apply_first"]["child_rss_kib"]
        # a child's own peak, not the agent's inherited one (the agent is far above 10 MiB, an `ip` far below)
        assert 0 < children["ip"] < 10 * 1024 < size["apply_first"]["agent_peak_rss_kib"], children
        assert children["nft -f"] > 0


def test_whatif_alternatives_were_run_and_agree(quick_run):
    result = quick_run[1]
    for size in result["sizes"]:
        whatif = size["whatif"]
        anonymous, named = whatif["nft_sets"]["anonymous_sets"], whatif["nft_sets"]["named_sets"]
        assert anonymous["anonymous_sets"] == size["objects"]["nft_anonymous_sets"]
        # every set literal but the per-chain verdict maps becomes one of a few named sets (none is left
        # when the agent already declares its sets by name)
        literals = whatif["nft_sets"]["named_literals"]
        assert named["anonymous_sets"] == named["verdict_maps"] == anonymous["verdict_maps"]
        assert named["named_sets"] == anonymous["named_sets"] + len(literals) < 12
        assert (anonymous["anonymous_sets"] > anonymous["verdict_maps"]) == bool(literals)
        assert anonymous["load_s"] > 0 and named["load_s"] > 0
        assert whatif["tc_reads"]["devices"] == size["sessions"] and whatif["tc_reads"]["same_answers"] is True
        devices = whatif["devices"]
        assert devices["devices"] == size["sessions"] and devices["left_behind"] == 0
        assert devices["create_batch_s"] > 0 and devices["delete_group_s"] > 0


def test_markdown_has_the_tables_and_links_the_plot_it_wrote(quick_run):
    out, result = quick_run
    text = agent_control_plane.render_markdown(result)
    assert_markdown_links_its_plots(text, out, "## Agent control plane", "agent_control_plane.png")
    assert "| interfaces | sessions | apply, s | re-apply, s |" in text
    assert "| step at 2 interfaces |" in text


def test_the_ebpf_path_is_measured_with_a_program_per_interface_and_direction(quick_run):
    result = quick_run[1]
    assert [s["interfaces"] for s in result["ebpf_sizes"]] == list(agent_control_plane.QUICK_SIZES)
    for size in result["ebpf_sizes"]:
        assert size["datapath"] == "ebpf"
        objects = size["objects"]
        assert objects["nft_rules"] == 0 and objects["data_path_programs"] == 2 * size["interfaces"], objects
        assert objects["vxlan_devices"] == objects["truncation_filters"] == size["sessions"], objects
        assert size["apply_first"]["steps"]["bpf() load data path"]["count"] == 2 * size["interfaces"]
        again = size["apply_again"]
        assert again["reported"] == ["unchanged"] and again["kernel_untouched"] is True
        assert "bpf() load data path" not in again["steps"] and "tc filter replace" not in again["steps"]
        assert size["status"]["matches"] is True and size["remove"]["left_behind"] == 0
    text = agent_control_plane.render_markdown(result)
    assert "### eBPF data path" in text
