"""The roles' molecule scenario (extensions/molecule/default): real Debian hosts with systemd as
PID 1, booted with systemd-nspawn in network namespaces and reached over SSH. Converges both roles,
checks idempotence, proves mirrored traffic arrives decapsulated on the collector and filtered-out
traffic does not, reboots the source, removes the agent and checks the host is clean.

Needs root, debootstrap and systemd-nspawn (CI runs as root and installs them from .ci/apt-packages.txt).
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_molecule_scenario():
    venv_bin = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
        NETMIRROR_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
    )
    completed = subprocess.run(
        [os.path.join(venv_bin, "molecule"), "test"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = completed.stdout + completed.stderr
    print(output[-30000:])
    assert completed.returncode == 0, "molecule test failed; see the output above"
    for step in ("create", "converge", "idempotence", "verify"):
        assert "{0}: Executed: Successful".format(step) in output, step
