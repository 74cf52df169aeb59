"""The collection as `ansible-galaxy collection build` makes it, and that tarball installed, once per run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_GALAXY = Path(sys.executable).parent / "ansible-galaxy"
INSTALLED = ("ansible_collections", "netmirror", "traffic_mirror")


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    output = tmp_path_factory.mktemp("build")
    subprocess.run(
        [str(ANSIBLE_GALAXY), "collection", "build", "--output-path", str(output), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tarball,) = output.glob("netmirror-traffic_mirror-*.tar.gz")
    return tarball


@pytest.fixture(scope="session")
def installed_collections(collection_tarball, tmp_path_factory):
    """A collections path that held nothing, with the tarball installed into it offline (amazon.aws, its
    dependency, is in the venv's site-packages, which Ansible scans by default)."""
    path = tmp_path_factory.mktemp("collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_NOCOLOR="1")
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(ANSIBLE_GALAXY), "collection", "install", "--offline", "-p", str(path), str(collection_tarball)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
        cwd=path,
    )
    assert path.joinpath(*INSTALLED, "MANIFEST.json").is_file()
    return path
