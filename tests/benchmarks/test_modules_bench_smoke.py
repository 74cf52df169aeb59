"""benchmarks/modules_bench.py --quick: the real modules run by ansible-playbook against the offline endpoint,
and the result has the shape docs/performance.md is built from, with figures that make sense."""

import modules_bench
import pytest

from helpers.quick_benchmark import assert_markdown_links_its_plots
from helpers.quick_benchmark import assert_names_benchmark_and_machine
from helpers.quick_benchmark import quick_run_fixture

quick_run = quick_run_fixture(modules_bench)


def rows(result, module):
    return {r["operation"]: r for r in result["calls"] if r["module"] == module}


def test_result_names_the_benchmark_and_the_machine(quick_run):
    _, result = quick_run
    assert_names_benchmark_and_machine(result, "modules_bench")
    assert result["startup"]["seconds"] > 0 and result["startup"]["cpu_seconds"] > 0


@pytest.mark.parametrize("module", ["session", "filter", "target", "amazon.aws sg"])
def test_every_operation_reached_the_endpoint_and_a_no_op_writes_nothing(quick_run, module):
    _, result = quick_run
    ops = rows(result, module)
    assert set(modules_bench.CORE_OPS) <= set(ops)
    for op in ops.values():
        assert op["total"] > 0 and op["errors"] == [], op
        assert op["total"] == sum(op["calls"].values())
    assert ops["no-op"]["changed"] is False
    assert ops["no-op"]["writes"] == ops["no-op"]["dry_run_writes"] == 0
    for op in ("create", "modify", "tag change", "delete"):
        assert ops[op]["changed"] is True and ops[op]["writes"] >= 1, ops[op]


def test_session_operations_make_the_calls_the_module_promises(quick_run):
    _, result = quick_run
    ops = rows(result, "session")
    assert ops["no-op"]["calls"] == {"DescribeTrafficMirrorSessions": 1}
    assert ops["create"]["calls"] == {"DescribeTrafficMirrorSessions": 1, "CreateTrafficMirrorSession": 1}
    assert ops["modify"]["calls"] == {"DescribeTrafficMirrorSessions": 1, "ModifyTrafficMirrorSession": 1}
    checked = [op for op in ops.values() if op["check_mode"]]
    assert len(checked) == 3
    for op in checked:
        assert op["changed"] is True and op["writes"] == 0 and op["dry_run_writes"] >= 1, op


def test_convergence_creates_every_item_then_changes_none(quick_run):
    _, result = quick_run
    conv = result["convergence"]
    assert set(conv["runs"]) == {modules_bench.SESSION, modules_bench.SECURITY_GROUP, modules_bench.KEY_PAIR}
    for module, runs in conv["runs"].items():
        assert runs["create"]["changed"] == runs["create"]["items"] == conv["count"], module
        assert runs["no change"]["changed"] == 0 and runs["no change"]["failed"] == 0, module
        assert runs["no change"]["writes"] == 0, module
        assert runs["create"]["seconds"] > 0 and runs["create"]["total"] > 0
    assert conv["runs"][modules_bench.SESSION]["no change"]["calls"] == {"DescribeTrafficMirrorSessions": conv["count"]}
    for ratios in conv["ratio_ours_to_theirs"].values():
        assert ratios["create"] > 0 and ratios["no change"] > 0


def test_info_lists_every_seeded_session_and_measures_its_memory(quick_run):
    _, result = quick_run
    info = result["info"]
    assert info["count"] > 0 and len(info["seed_slice_seconds"]) == 10
    assert all(listing["sessions"] == info["count"] for listing in info["boto3"])
    module = info["module"]
    assert module["sessions"] == info["count"] and module["pages"] >= 1
    assert set(module["calls"]) == {"DescribeTrafficMirrorSessions"}
    assert 10 < module["module_max_rss_mib"] <= module["tree_max_rss_mib"] < 4096
    assert 0 < module["module_seconds"] < module["playbook_seconds"]


def test_markdown_has_the_tables_and_links_the_plots_it_wrote(quick_run):
    out, result = quick_run
    text = modules_bench.render_markdown(result)
    images = ["modules_bench_%s.png" % name for name in ("calls", "convergence", "info")]
    assert_markdown_links_its_plots(text, out, "## Modules", *images)
    assert text.count("| operation | changed |") == 4
    assert "| module | run | wall s |" in text
    assert "| listing | seconds | Describe pages |" in text


def test_fleet_audit_finds_exactly_what_was_seeded_and_writes_nothing(quick_run):
    _, result = quick_run
    fleet = result["fleet"]
    expected = fleet["expected_counts"]
    assert fleet["found_exactly"] is True
    assert (
        expected["missing"] == expected["drifted"] == fleet["count"] // 10 and expected["extra"] == fleet["count"] // 20
    )
    sets = fleet["set"]
    assert sets["writes"] == 0 and sets["errors"] == []
    assert sets["dry_run_writes"] == sum(expected.values())
    assert sets["changes"] == {
        "create": expected["missing"],
        "modify": expected["drifted"],
        "delete": expected["extra"],
    }
    assert sets["describe_pages"] == -(-fleet["seeded"] // 1000)
    assert sets["after"] == fleet["count"]
    assert set(sets["calls"]) <= {
        "DescribeTrafficMirrorSessions",
        "CreateTrafficMirrorSession (DryRun)",
        "ModifyTrafficMirrorSession (DryRun)",
        "DeleteTrafficMirrorSession (DryRun)",
    }
    assert 10 < sets["module_max_rss_mib"] <= sets["tree_max_rss_mib"] < 4096
    loop = fleet["loop"]
    assert loop["writes"] == 0 and loop["calls"]["DescribeTrafficMirrorSessions"] == 2 * loop["sessions"] + 1
    assert 0 < fleet["seconds_per_session"]["set"] < fleet["seconds_per_session"]["loop"]
    playbook = fleet["playbook"]
    assert playbook["writes"] == 0 and playbook["errors"] == []
    assert playbook["report_counts"] == dict(
        missing=expected["missing"],
        extra=expected["extra"],
        drifted=expected["drifted"],
        permission_problems=0,
        errors=0,
    )
    assert playbook["calls"]["DescribeTrafficMirrorSessions"] == sets["describe_pages"]
    assert "### A fleet audit at the account quota" in modules_bench.render_markdown(result)


def test_fleet_layout_respects_the_quotas():
    slots = modules_bench.fleet_layout(10000)
    kinds = [kind for kind, _eni, _number in slots]
    assert kinds.count("extra") == 500 and len(kinds) - kinds.count("extra") == 10000
    assert kinds.count("missing") == kinds.count("drifted") == 1000
    per_eni = {}
    for _kind, eni, number in slots:
        per_eni.setdefault(eni, set()).add(number)
    assert all(numbers <= {1, 2, 3} for numbers in per_eni.values())
    assert len(per_eni) == 3500  # 350 ENI targets of 10 sources each
