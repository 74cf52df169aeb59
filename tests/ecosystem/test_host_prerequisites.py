"""`make test`'s first step: without root, or with a Debian package missing that it may not
install, it stops before any test and prints the command that installs what is missing."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "host_prerequisites.py"


def run_unprivileged(package_list):
    env = dict(os.environ, NETMIRROR_APT_PACKAGES=str(package_list))
    command = ["python3", str(SCRIPT)]  # as make test runs it: the system python3, before the venv
    if os.geteuid() == 0:
        # As an ordinary user: root would install the package instead of naming it.
        command = ["runuser", "-u", "nobody", "--", "env", "NETMIRROR_APT_PACKAGES=%s" % package_list] + command
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_without_root_it_stops_and_names_the_install_command():
    with tempfile.TemporaryDirectory() as directory:  # readable by nobody, unlike pytest's tmp_path
        os.chmod(directory, 0o755)
        package_list = Path(directory) / "apt-packages.txt"
        package_list.write_text("# a comment\niproute2\nnetmirror-no-such-package  # why\n")
        os.chmod(package_list, 0o644)
        completed = run_unprivileged(package_list)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "make test needs root" in completed.stderr and "make test-quick" in completed.stderr
    assert "missing Debian packages: netmirror-no-such-package" in completed.stderr
    assert (
        "install them with: apt-get update && apt-get install -y --no-install-recommends netmirror-no-such-package"
        in completed.stderr
    )


def test_the_package_list_is_the_ci_list():
    sys.path.insert(0, str(SCRIPT.parent))
    import host_prerequisites

    packages = host_prerequisites.host_packages()
    assert "systemd-container" in packages and "iperf3" in packages
    assert not [p for p in packages if p.startswith("#") or " " in p]
    assert "apt-get" not in (REPO / ".ci" / "run").read_text(), ".ci/run must leave installing to make test"
