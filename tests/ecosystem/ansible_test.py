#!/usr/bin/env python
"""Run `ansible-test sanity` or `ansible-test units` on a copy of the checkout placed at
ansible_collections/netmirror/traffic_mirror (the layout ansible-test requires).

    .venv/bin/python tests/ecosystem/ansible_test.py sanity [extra ansible-test args]
    .venv/bin/python tests/ecosystem/ansible_test.py units

ansible-test builds its own pinned virtual environments (--venv) from PyPI. Their pip comes from a
bootstrap script ansible-test downloads from ci-files.testing.ansible.com, which our CI cannot reach.
ansible-test uses a script saved at ~/.ansible/test/cache/get_pip_<version>.py instead (its documented
way round that); we save get_pip_offline.py there, with the pip wheel it installs from PyPI.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from collection_tree import place_collection

HERE = Path(__file__).resolve().parent
ANSIBLE_TEST = Path(sys.executable).parent / "ansible-test"
PIP_VERSION = "24.2"  # what ansible-test 2.19 bootstraps (python_requirements.get_venv_packages)
CACHE = Path.home() / ".ansible" / "test" / "cache"
PYTHON = "{0}.{1}".format(*sys.version_info)


def provide_pip_bootstrap():
    script = CACHE / "get_pip_{0}.py".format(PIP_VERSION.replace(".", "_"))
    CACHE.mkdir(parents=True, exist_ok=True)
    if not list(CACHE.glob("pip-{0}-py3-none-any.whl".format(PIP_VERSION))):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(CACHE),
                "pip=={0}".format(PIP_VERSION),
            ],
            check=True,
        )
    shutil.copyfile(HERE / "get_pip_offline.py", script)


def run(command, extra):
    provide_pip_bootstrap()
    with tempfile.TemporaryDirectory(prefix="netmirror-ansible-test-") as root:
        collection = place_collection(root)
        arguments = [str(ANSIBLE_TEST), command, "--venv", "--python", PYTHON, "--color", "no"]
        # ansible-test finds `python3.11` on PATH: the venv's own comes first.
        env = dict(os.environ, PATH=os.pathsep.join([str(ANSIBLE_TEST.parent), os.environ["PATH"]]))
        return subprocess.run(arguments + extra, cwd=collection, env=env, check=False).returncode


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("sanity", "units"):
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1], sys.argv[2:]))
