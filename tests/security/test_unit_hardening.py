"""The agent's systemd unit, rendered by Ansible from the role's template and variables, scores OK or better with
`systemd-analyze security --offline=yes` (the unit file judged as it is, without booting a host). The molecule
scenario scores the same unit live on a booted host (extensions/molecule/default/verify.yml)."""

import os
import re
import subprocess
from pathlib import Path

from helpers.playbook import run_playbook

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "mirror_agent"
UNIT = "netmirror-agent.service"
SCORE = re.compile(r"Overall exposure level for %s: ([0-9.]+) ([A-Z]+)" % re.escape(UNIT))
ACCEPTED = ("SAFE", "OK")

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The role's defaults and variables
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: ["%(role)s/defaults/main.yml", "%(role)s/vars/main.yml"]
    - name: The unit, as the role renders it
      ansible.builtin.template:
        src: "%(role)s/templates/netmirror-agent.service.j2"
        dest: "{{ out }}"
        mode: "0600"
"""


def render_unit(tmp_path):
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"role": ROLE})
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    run_playbook(tmp_path / "play.yml", {"out": str(tmp_path / UNIT)}, tmp_path, env, timeout=300)
    return tmp_path / UNIT


def test_the_unit_scores_ok_or_better(tmp_path, record_property):
    unit = render_unit(tmp_path)
    assert "ExecStart=/usr/bin/python3 -m traffic_mirror_agent run --config /etc/netmirror-agent/config.json" in (
        unit.read_text()
    )
    completed = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = SCORE.search(completed.stdout)
    assert match, completed.stdout[-2000:] + completed.stderr[-2000:]
    version = subprocess.run(["systemd-analyze", "--version"], capture_output=True, text=True, check=False)
    record_property("systemd_analyze_exposure", "%s %s" % match.groups())
    record_property("systemd", version.stdout.split("(")[0].strip())
    assert match.group(2) in ACCEPTED, completed.stdout[-4000:]
