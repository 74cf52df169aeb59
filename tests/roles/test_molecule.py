"""The roles' molecule scenario (extensions/molecule/default): real Debian hosts with systemd as
PID 1, booted with systemd-nspawn in network namespaces and reached over SSH. Converges both roles,
checks idempotence, proves mirrored traffic arrives decapsulated on the collector and filtered-out
traffic does not, reboots the source, removes the agent and checks the host is clean.

Needs root, debootstrap and systemd-nspawn (CI runs as root and installs them from .ci/apt-packages.txt).
"""

import os

from helpers.molecule import run_scenario


def test_molecule_scenario():
    returncode, output = run_scenario("default", os.environ["ANSIBLE_COLLECTIONS_PATH"], timeout=1800)
    print(output[-30000:])
    assert returncode == 0, "molecule test failed; see the output above"
    for step in ("create", "converge", "idempotence", "verify"):
        assert "{0}: Executed: Successful".format(step) in output, step
