"""`ansible-test sanity` (every test that applies, Python 3.11) and `ansible-test units` pass on the
collection. ansible_test.py places the checkout where ansible-test needs it; run it by hand to see
the full output."""

import sys
from pathlib import Path

import pytest

from helpers.commands import run

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("command", ["sanity", "units"])
def test_ansible_test_passes(command):
    completed = run([sys.executable, HERE / "ansible_test.py", command], timeout=1200)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-15000:]
    if command == "sanity":
        assert output.count('Running sanity test "') >= 20, output[-5000:]
    else:
        assert " passed" in output and " failed" not in output, output[-5000:]
