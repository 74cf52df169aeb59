"""The collection as `ansible-galaxy collection build` makes it, once per run."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_GALAXY = Path(sys.executable).parent / "ansible-galaxy"


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
