"""The checkout is usable as the collection: `make collection` prints one line to export, and with
it ansible-doc and ansible-playbook find netmirror.traffic_mirror's modules and playbooks."""

import os
import re
from pathlib import Path

from helpers.commands import run

REPO = Path(__file__).resolve().parents[2]


def collection_env():
    completed = run(["make", "--no-print-directory", "collection"], timeout=600, cwd=REPO)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    match = re.search(r"^\s*export ANSIBLE_COLLECTIONS_PATH=(\S+) PATH=(\S+):\$PATH$", completed.stdout, re.M)
    assert match, completed.stdout
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=match.group(1), PATH=match.group(2) + ":" + os.environ["PATH"])
    return env


def test_ansible_doc_and_playbooks_work_from_the_checkout(tmp_path):
    env = collection_env()
    doc = run(
        ["ansible-doc", "netmirror.traffic_mirror.ec2_traffic_mirror_session"], timeout=300, cwd=tmp_path, env=env
    )
    # ansible-doc exits 0 even when it finds nothing: check what it printed.
    assert "was not found" not in doc.stdout + doc.stderr
    assert "ec2_traffic_mirror_session" in doc.stdout and "session_number" in doc.stdout, doc.stdout[-2000:]
    syntax = run(["ansible-playbook", "netmirror.traffic_mirror.audit", "--syntax-check"], 300, cwd=tmp_path, env=env)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    assert "playbooks/audit.yml" in syntax.stdout
