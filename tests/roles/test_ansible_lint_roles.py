"""ansible-lint's production profile on the roles, their molecule scenario, the demo and the examples."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_roles_pass_the_production_profile():
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=str(venv_bin) + os.pathsep + os.environ.get("PATH", ""), NO_COLOR="1")
    completed = subprocess.run(
        [
            str(venv_bin / "ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "-f",
            "pep8",
            "roles",
            "extensions",
            "demo",
            "docs/examples",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-6000:]
    assert "Profile 'production' was required, and it passed" in completed.stdout + completed.stderr
