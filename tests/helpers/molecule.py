"""The molecule scenarios of extensions/molecule/ run from the checkout: by tests/roles/test_molecule.py (`default`)
and by the kernel matrix, tests/vm/run_matrix.py (`kernels`).

Each scenario's molecule.yml takes ANSIBLE_COLLECTIONS_PATH from NETMIRROR_COLLECTIONS_PATH: a path holding
ansible_collections/netmirror/traffic_mirror, which link_collection() makes a link to this checkout.
"""

import os
import sys
from pathlib import Path

from helpers.commands import run

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "tests" / "output" / "collections"


def link_collection(collections=COLLECTIONS):
    """collections/ansible_collections/netmirror/traffic_mirror -> this checkout (a link left by a checkout that
    was moved or copied would import another tree: it is replaced); returns collections."""
    link = Path(collections) / "ansible_collections" / "netmirror" / "traffic_mirror"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and os.readlink(link) != str(REPO):
        link.unlink(missing_ok=True)
    if not link.is_symlink():
        try:
            link.symlink_to(REPO, target_is_directory=True)
        except FileExistsError:  # a process started at the same time made it
            pass
    return Path(collections)


def run_scenario(scenario, collections, timeout):
    """`molecule test -s SCENARIO` from the repository root with this Python's venv first on PATH (molecule,
    ansible-playbook) and no colours; returns (exit status, stdout and stderr together)."""
    venv_bin = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
        NETMIRROR_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
    )
    completed = run([os.path.join(venv_bin, "molecule"), "test", "-s", scenario], timeout, cwd=REPO, env=env)
    return completed.returncode, completed.stdout + completed.stderr
