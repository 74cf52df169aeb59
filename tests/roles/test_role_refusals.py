"""The roles refuse a host they cannot serve before changing anything. This machine (like CI's)
has no systemd as PID 1, so it is such a host: the roles run against it with a local connection."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - name: Apply the role
      ansible.builtin.include_role:
        name: netmirror.traffic_mirror.{role}
"""
SESSION = {
    "name": "web",
    "network_interface": "lo",
    "session_number": 1,
    "virtual_network_id": 7,
    "target": {"address": "198.18.0.2"},
    "filter": {"ingress_rules": [], "egress_rules": []},
}


def run_role(tmp_path, role, variables):
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(role=role))
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(tmp_path / "play.yml"),
            "-e",
            "@" + str(tmp_path / "vars.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def service_manager():
    return Path("/proc/1/comm").read_text().strip()


@pytest.mark.parametrize(
    "role, variables, installed",
    [
        ("mirror_agent", {"mirror_agent_sessions": [SESSION]}, "/etc/traffic-mirror-agent"),
        (
            "mirror_collector",
            {"mirror_collector_sessions": [{"virtual_network_id": 7}]},
            "/etc/systemd/system/netmirror-collector.service",
        ),
    ],
)
def test_a_host_without_systemd_is_refused_unchanged(tmp_path, service_manager, role, variables, installed):
    if service_manager == "systemd":
        pytest.skip("this machine runs systemd as PID 1; the refusal needs one that does not (as CI's)")
    completed = run_role(tmp_path, role, variables)
    assert completed.returncode != 0
    assert "does not run systemd" in completed.stdout
    assert "changed=0" in completed.stdout
    assert not Path(installed).exists()


def test_bad_variables_are_refused_by_the_argument_spec(tmp_path):
    completed = run_role(tmp_path, "mirror_agent", {"mirror_agent_sessions": [{"name": "x"}]})
    assert completed.returncode != 0
    assert "network_interface" in completed.stdout and "mirror_agent_sessions" in completed.stdout
