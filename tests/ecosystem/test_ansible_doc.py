"""`ansible-doc` renders every module of the collection: as text, with each documented option, and as JSON."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def ansible_doc(*arguments):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="true")
    completed = subprocess.run(
        [str(ANSIBLE_DOC)] + list(arguments), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "[WARNING]" not in completed.stderr and "[ERROR]" not in completed.stderr, completed.stderr
    return completed.stdout


def test_every_module_is_listed():
    listed = ansible_doc("--list", "--json", "netmirror.traffic_mirror")
    assert sorted(json.loads(listed)) == ["netmirror.traffic_mirror." + m for m in MODULES]


@pytest.mark.parametrize("module", MODULES)
def test_module_documentation_renders(module):
    name = "netmirror.traffic_mirror." + module
    doc = json.loads(ansible_doc("--json", name))[name]["doc"]
    text = ansible_doc(name)
    assert text.startswith("> MODULE " + name)
    assert doc["short_description"] and doc["options"], "no short description or no options documented"
    for option in doc["options"]:  # "= name" when required, "- name" otherwise
        assert re.search(r"^[-=] {0}\b".format(option), text, re.M), "option {0} not rendered".format(option)
    for section in ("OPTIONS", "AUTHOR:", "EXAMPLES:", "RETURN VALUES:"):
        assert section in text


def test_the_filter_module_documents_every_rule_sub_option_in_both_directions():
    """The rule sub-options come from the doc fragment filter_rules; each direction's, and its own references."""
    from ansible_collections.netmirror.traffic_mirror.plugins.modules.ec2_traffic_mirror_filter import _rule_spec

    name = "netmirror.traffic_mirror.ec2_traffic_mirror_filter"
    options = json.loads(ansible_doc("--json", name))[name]["doc"]["options"]
    ingress, egress = options["ingress_rules"]["suboptions"], options["egress_rules"]["suboptions"]
    assert set(ingress) == set(egress) == set(_rule_spec())
    assert json.dumps(egress).replace("egress_rules", "ingress_rules") == json.dumps(ingress)
    assert "O(egress_rules[].source_port_range.from_port)" in json.dumps(egress)


ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def test_every_role_has_an_argument_spec():
    assert ROLES == sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES)
def test_role_documentation_renders(role):
    name = "netmirror.traffic_mirror." + role
    doc = json.loads(ansible_doc("-t", "role", "--json", name))[name]
    options = doc["entry_points"]["main"]["options"]
    text = ansible_doc("-t", "role", name)
    assert text.startswith("> ROLE: *{0}*".format(name))
    for option in options:
        assert option in text, "variable {0} not rendered".format(option)
