"""Shared pytest set-up: the collection importable as ansible_collections.netmirror.traffic_mirror,
the offline EC2 endpoint importable as offline_ec2."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO / "tests" / "output" / "collections"


def _link_collection():
    """ansible_collections/netmirror/traffic_mirror -> the repository root (the collection)."""
    link = COLLECTIONS_ROOT / "ansible_collections" / "netmirror" / "traffic_mirror"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(REPO, target_is_directory=True)
    return COLLECTIONS_ROOT


sys.path.insert(0, str(_link_collection()))
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "roles" / "mirror_agent" / "files"))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_ROOT))


@pytest.fixture(scope="session")
def endpoint():
    """One offline EC2 endpoint (a real HTTP server on 127.0.0.1) for the whole run."""
    from offline_ec2.testing import OfflineEC2

    with OfflineEC2() as server:
        yield server


# tests/output holds the collection link back to the repository root: never collect through it.
collect_ignore = ["output"]
