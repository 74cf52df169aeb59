"""mirror_agent_datapath reaches the agent's config.json: the role's own "Write the configuration" content,
rendered by ansible-playbook from the role's defaults and vars, is a config the agent accepts with that data path
(default auto)."""

import json
import os

import pytest
import yaml
from traffic_mirror_agent.config import parse_config

from helpers.playbook import local_play
from helpers.playbook import role_path
from helpers.playbook import run_playbook

ROLE = role_path("mirror_agent")

PLAYBOOK = local_play("""\
  vars_files:
    - {defaults}
    - {vars}
  tasks:
    - name: Write the config.json the role would install
      ansible.builtin.copy:
        content: {content}
        dest: "{{{{ out }}}}"
        mode: "0600"
""")


def rendered_config(tmp_path, **variables):
    tasks = yaml.safe_load((ROLE / "tasks" / "present.yml").read_text())
    (task,) = [t for t in tasks if t["name"] == "Write the configuration"]
    out = tmp_path / "config.json"
    (tmp_path / "play.yml").write_text(
        PLAYBOOK.format(
            defaults=ROLE / "defaults" / "main.yml",
            vars=ROLE / "vars" / "main.yml",
            content=json.dumps(task["ansible.builtin.copy"]["content"]),
        )
    )
    run_playbook(tmp_path / "play.yml", dict(variables, out=str(out)), tmp_path, dict(os.environ), timeout=300)
    return json.loads(out.read_text())


@pytest.mark.parametrize("datapath", [None, "auto", "ebpf", "nftables"])
def test_the_rendered_config_carries_the_datapath(tmp_path, datapath):
    variables = {} if datapath is None else {"mirror_agent_datapath": datapath}
    data = rendered_config(tmp_path, **variables)
    assert data["datapath"] == (datapath or "auto")
    assert parse_config(data).datapath == (datapath or "auto")
