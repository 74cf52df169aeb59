"""ruff lint and format check on all Python in the repository (settings: ruff.toml, and the ruff.toml
of a directory that has its own)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("command", [["check", "--no-cache"], ["format", "--check", "--no-cache"]])
def test_ruff(command):
    completed = subprocess.run(
        [str(RUFF)] + command + ["."], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stdout[-15000:] + completed.stderr[-3000:]
