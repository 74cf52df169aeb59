"""docs/reliability.md cannot drift away from the tests: every test (and parametrized case) it lists as proof
still exists, and it lists the tests of every area harness/reliability_report.py runs by default."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import reliability_report

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def generated_part():
    text = DOC.read_text()
    assert reliability_report.BEGIN in text and reliability_report.END in text, "the generated part's markers"
    return text[text.index(reliability_report.BEGIN) : text.index(reliability_report.END)]


def listed_tests():
    """Node ids of the tests the document lists: a table row's first cell is the test function, its second the
    parametrized cases (each in backticks), or a dash when there are none."""
    listed = []
    for line in generated_part().splitlines():
        if not line.startswith("| `tests/"):
            continue
        cells = [cell.strip() for cell in UNESCAPED_PIPE.split(line)[1:-1]]
        function = cells[0].strip("`")
        cases = [case.replace("\\|", "|") for case in re.findall(r"`([^`]*)`", cells[1])]
        listed += ["%s[%s]" % (function, case) for case in cases] or [function]
    return listed


def collected(files):
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *sorted(files)],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "NETMIRROR_TEST_SCOPE"},  # collect all, even in test-quick
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return {line for line in completed.stdout.splitlines() if "::" in line}


@pytest.fixture(scope="module")
def listed():
    tests = listed_tests()
    assert tests, "docs/reliability.md lists no test: run harness/reliability_report.py"
    return tests


def test_every_listed_test_still_exists(listed):
    existing = collected({test.split("::")[0] for test in listed})
    missing = [test for test in listed if test not in existing]
    assert missing == [], "listed in docs/reliability.md but gone (regenerate it): %s" % missing


def test_every_area_of_the_report_is_listed(listed):
    for area in reliability_report.AREAS:
        if area.optional:
            continue
        for node in area.nodes:
            assert any(reliability_report.belongs(test, node) for test in listed), (
                "%s (%s) is not in docs/reliability.md: regenerate it" % (node, area.title)
            )
