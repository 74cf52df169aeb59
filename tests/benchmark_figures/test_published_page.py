"""docs/performance.md is what benchmarks/report.py makes from the published results, and every section
whose figures were measured on other code than this checkout's says so on the page."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import common  # noqa: E402
import report  # noqa: E402


def test_the_page_is_the_report_of_the_published_results():
    page = (Path(common.ROOT) / "docs" / "performance.md").read_text()
    assert report.render(common.DEFAULT_OUT) == page, "re-run the benchmark or `python3 benchmarks/report.py`"


def test_a_result_of_other_code_is_marked_stale():
    result = {"agent_source_digest": "0000000000000000"}
    problems = common.staleness(result)
    assert problems and "measured on agent source 0000000000000000" in problems[0]
    assert common.staleness({"agent_source_digest": common.agent_source_digest()}) == []
    assert "no source digest" in common.staleness({})[0]
    text = report.stale_marked("agent_soak", "## Title\n\nbody\n", problems)
    assert text.splitlines()[2].startswith("> **Stale figures:** measured on agent source 0000000000000000")


def test_every_published_result_records_the_digest_of_what_it_measured():
    for name in ("agent_dataplane", "agent_control_plane", "agent_soak"):
        result = json.loads((Path(common.DEFAULT_OUT) / (name + ".json")).read_text())
        assert "agent_source_digest" in result, name
