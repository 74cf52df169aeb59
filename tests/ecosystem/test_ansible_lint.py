"""ansible-lint's production profile passes on every playbook and role the collection ships, its molecule
scenario, the demo and the examples (offline: the collection itself from this checkout, amazon.aws from
the venv; settings in .ansible-lint)."""

import os
import sys
from pathlib import Path

from helpers.commands import run

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LINTED = ["playbooks", "roles", "extensions", "demo", "docs/examples"]


def test_playbooks_and_roles_pass_the_production_profile():
    env = dict(os.environ, NO_COLOR="1", PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    lint = [BIN / "ansible-lint", "--offline", "--profile", "production", "-f", "pep8"] + LINTED
    completed = run(lint, timeout=600, cwd=REPO, env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-10000:]
    assert "Profile 'production' was required, and it passed" in output
