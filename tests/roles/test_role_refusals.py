"""The roles refuse a host they cannot serve before changing anything. The host here is this machine seen from a
PID namespace whose PID 1 is a plain init (no systemd), on any machine, systemd or not: ansible-playbook runs
inside it with a local connection, so the roles' own probe (the service_mgr fact, which reads /proc/1/comm) looks
at that init. Both with the play's facts and with gather_facts: false (the roles' fact guard gathers them)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import VIRTUAL_NETWORK_ID_RANGE

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: {gather_facts}
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
# PID 1 of the namespace: starts the command, reaps orphans, exits with the command's status.
PLAIN_INIT = """#!{python}
import os, sys
child = os.fork()
if child == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    pid, status = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_role(tmp_path, role, variables, gather_facts=True, init=None):
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(role=role, gather_facts=str(gather_facts).lower()))
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(tmp_path / "play.yml"),
        "-e",
        "@" + str(tmp_path / "vars.json"),
    ]
    if init is not None:
        command = ["unshare", "--pid", "--fork", "--mount-proc", str(init)] + command
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture()
def plain_init(tmp_path):
    init = tmp_path / "plain-init"  # its name is what /proc/1/comm says in the namespace
    init.write_text(PLAIN_INIT.format(python=sys.executable))
    init.chmod(0o755)
    return init


@pytest.mark.parametrize("gather_facts", [True, False])
@pytest.mark.parametrize(
    "role, variables, installed",
    [
        ("mirror_agent", {"mirror_agent_sessions": [SESSION]}, "/etc/netmirror-agent"),
        (
            "mirror_collector",
            {"mirror_collector_sessions": [{"virtual_network_id": 7}]},
            "/etc/systemd/system/netmirror-collector.service",
        ),
    ],
)
def test_a_host_without_systemd_is_refused_unchanged(tmp_path, plain_init, role, variables, installed, gather_facts):
    assert not Path(installed).exists(), "%s exists before the run: this machine has the role applied" % installed
    completed = run_role(tmp_path, role, variables, gather_facts, init=plain_init)
    assert completed.returncode != 0, completed.stdout[-3000:]
    assert "does not run systemd (service manager" in completed.stdout, completed.stdout[-3000:] + completed.stderr
    assert "plain-init" in completed.stdout  # the probe looked at the namespace's PID 1
    assert "changed=0" in completed.stdout
    assert not Path(installed).exists()


def test_bad_variables_are_refused_by_the_argument_spec(tmp_path):
    completed = run_role(tmp_path, "mirror_agent", {"mirror_agent_sessions": [{"name": "x"}]})
    assert completed.returncode != 0
    assert "network_interface" in completed.stdout and "mirror_agent_sessions" in completed.stdout


@pytest.mark.parametrize("vni", [-1, 16777216])
def test_the_collector_refuses_a_vni_outside_aws_range_before_looking_at_the_host(tmp_path, plain_init, vni):
    """The range comes from the rule model (the mirror_limits lookup), and a bad variable is refused on any host,
    before the host checks (here: no systemd)."""
    variables = {"mirror_collector_sessions": [{"virtual_network_id": vni}]}
    completed = run_role(tmp_path, "mirror_collector", variables, init=plain_init)
    assert completed.returncode != 0
    low, high = VIRTUAL_NETWORK_ID_RANGE
    expected = "mirror_collector_sessions[0]: virtual_network_id={0} (allowed {1}-{2})".format(vni, low, high)
    assert expected in completed.stdout, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "does not run systemd" not in completed.stdout
    assert "changed=0" in completed.stdout


@pytest.mark.parametrize("vni", [0, 16777215])
def test_the_collector_takes_the_vnis_at_the_ends_of_the_range(tmp_path, plain_init, vni):
    variables = {"mirror_collector_sessions": [{"virtual_network_id": vni}]}
    completed = run_role(tmp_path, "mirror_collector", variables, init=plain_init)
    assert completed.returncode != 0  # refused for the host (a plain init, no systemd), not for the VNI
    assert "does not run systemd (service manager" in completed.stdout, completed.stdout[-3000:] + completed.stderr
    assert "virtual_network_id={0} (allowed".format(vni) not in completed.stdout
