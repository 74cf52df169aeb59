"""Run a playbook with the venv's ansible-playbook, its variables from a JSON file, and expect it to succeed."""

import json
import sys
from pathlib import Path

from helpers.commands import run

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REPO = Path(__file__).resolve().parents[2]


GROUP_DEFAULTS = "  module_defaults:\n    group/netmirror.traffic_mirror.aws:\n{defaults}\n"


def local_play(body, name=None, group_defaults=False):
    """A play (named ``name``) on localhost over the local connection, without facts; ``body`` is the rest of
    the play (``tasks:``, ``vars_files:`` ...), indented by two spaces. ``group_defaults``: module_defaults for
    the collection's group, its lines left as ``{defaults}`` for str.format."""
    head = "- name: %s\n  hosts: localhost\n" % name if name else "- hosts: localhost\n"
    return head + "  connection: local\n  gather_facts: false\n" + (GROUP_DEFAULTS if group_defaults else "") + body


def role_path(role):
    return REPO / "roles" / role


def run_playbook(playbook, variables, work_dir, env, options=(), timeout=600):
    """`ansible-playbook PLAYBOOK -e @WORK_DIR/vars.json OPTIONS` in env; fails the test with the end of its output
    unless it exits 0; returns its stdout."""
    vars_file = Path(work_dir) / "vars.json"
    vars_file.write_text(json.dumps(variables))
    completed = run([ANSIBLE_PLAYBOOK, playbook, "-e", "@" + str(vars_file), *options], timeout, env=env)
    assert completed.returncode == 0, completed.stdout[-8000:] + completed.stderr[-4000:]
    return completed.stdout
