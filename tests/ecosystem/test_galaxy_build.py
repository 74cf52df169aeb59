"""`ansible-galaxy collection build` makes a small tarball of what the collection ships, which installs
offline into an empty path and runs its modules from there against the offline EC2 endpoint."""

import json
import os
import sys
import tarfile
from pathlib import Path

import yaml

from collection_tree import checkout_files
from collection_tree import collection_files
from helpers.commands import run

BIN = Path(sys.executable).parent
SESSION_INFO = "netmirror.traffic_mirror.ec2_traffic_mirror_session_info"
MAX_SIZE = 400 * 1024  # bytes; the collection is about 130 KB today
# Not collection content: development tooling, test output, caches.
NOT_SHIPPED_PREFIXES = (".venv/", "tests/output/", "tools/", "harness/", ".git/", ".ci/", "tests/emulator/")
NOT_SHIPPED_DIRECTORIES = {".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__"}
SHIPPED = (
    "MANIFEST.json",
    "README.md",
    "CHANGELOG.rst",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements.txt",
    "bindep.txt",
    "playbooks/audit.yml",
    "plugins/modules/ec2_traffic_mirror_session.py",
    "plugins/module_utils/tm_api.py",
    "changelogs/changelog.yaml",
)


def test_tarball_is_small_and_holds_only_the_collection(collection_tarball):
    assert collection_tarball.stat().st_size < MAX_SIZE
    with tarfile.open(collection_tarball) as tarball:
        members = tarball.getnames()
        manifest = json.load(tarball.extractfile("MANIFEST.json"))
    unwanted = [
        m
        for m in members
        if m.startswith(NOT_SHIPPED_PREFIXES) or NOT_SHIPPED_DIRECTORIES & set(m.split("/")) or m.endswith(".pyc")
    ]
    assert unwanted == []
    assert [path for path in SHIPPED if path not in members] == []
    assert manifest["collection_info"]["dependencies"] == {"amazon.aws": ">=9.0.0"}


def test_checks_see_what_ships(collection_tarball):
    """collection_tree (the copy ansible-test and the docsite use) leaves out what the build leaves out."""
    with tarfile.open(collection_tarball) as tarball:
        shipped = {m.name for m in tarball.getmembers() if m.isfile() or m.issym()}
    known_to_git = set(checkout_files())
    assert shipped & known_to_git == set(collection_files()) - {"galaxy.yml"}


def test_installed_tarball_runs_a_module(installed_collections, endpoint, tmp_path):
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    network = endpoint.create_network(eni_count=2)
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=network["eni_ids"][1])["TrafficMirrorTarget"]
    mirror_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    session = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=network["eni_ids"][0],
        SessionNumber=1,
        TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=mirror_filter["TrafficMirrorFilterId"],
    )["TrafficMirrorSession"]

    installed = installed_collections
    # Only the installed path, plus the venv's site-packages (scanned by default) for amazon.aws.
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(installed),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    env.pop("PYTHONPATH", None)

    doc = run([BIN / "ansible-doc", "--json", SESSION_INFO], timeout=120, cwd=tmp_path, env=env)
    assert doc.returncode == 0, doc.stdout + doc.stderr
    module_file = json.loads(doc.stdout)[SESSION_INFO]["doc"]["filename"]
    assert module_file.startswith(str(installed))

    arguments = dict(
        region=endpoint.region,
        endpoint_url=endpoint.endpoint_url,
        filters={"network-interface-id": network["eni_ids"][0]},
    )
    completed = run(
        [BIN / "ansible", "localhost", "-m", SESSION_INFO, "-a", json.dumps(arguments), "-o"],
        300,
        cwd=tmp_path,
        env=env,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = yaml.safe_load(completed.stdout.split("=>", 1)[1])
    assert [s["traffic_mirror_session_id"] for s in result["traffic_mirror_sessions"]] == [
        session["TrafficMirrorSessionId"]
    ]
