"""The rule model and AWS's session limits are written once, in plugins/module_utils/mirror_rules.py: the agent the
role installs gets that very file from the built Galaxy tarball (its rules.py, a symlink in the checkout), and the
modules, the agent and the mirror_collector role take the limits from it instead of writing the numbers again."""

import os
from pathlib import Path

import pytest

from netns_lab import AGENT_PACKAGE

REPO = Path(__file__).resolve().parents[2]
MODEL = "plugins/module_utils/mirror_rules.py"
AGENT_RULES = os.path.relpath(os.path.join(AGENT_PACKAGE, "rules.py"), REPO)
# Where the limits are used; the offline endpoint (tools/offline_ec2/validation.py) keeps its own copy on purpose.
USERS = (
    "plugins/module_utils/tm_params.py",
    os.path.relpath(os.path.join(AGENT_PACKAGE, "config.py"), REPO),
    "roles/mirror_collector/tasks/validate.yml",
)


@pytest.fixture
def installed(installed_collections):
    """The installed collection's root."""
    return installed_collections / "ansible_collections" / "netmirror" / "traffic_mirror"


def test_the_installed_agent_gets_the_rule_model_byte_for_byte(installed):
    rules = installed / AGENT_RULES
    assert rules.read_bytes() == (REPO / MODEL).read_bytes()
    # ...from the installed collection itself, not from this checkout.
    assert rules.resolve() == (installed / MODEL).resolve()
    assert rules.resolve().is_relative_to(installed.resolve())


@pytest.mark.parametrize("path", USERS)
def test_the_limits_are_not_written_again(path):
    from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import mirror_rules

    text = (REPO / path).read_text()
    for name in ("SESSION_NUMBER_RANGE", "PACKET_LENGTH_RANGE", "VIRTUAL_NETWORK_ID_RANGE"):
        for bound in getattr(mirror_rules, name):
            if bound > 1:  # 0 and 1 are too common to look for
                assert str(bound) not in text, "{0} writes {1}'s bound {2} again".format(path, name, bound)


def test_the_agent_and_the_modules_check_against_the_rule_models_limits():
    from traffic_mirror_agent import config
    from traffic_mirror_agent import rules

    from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import mirror_rules
    from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import tm_params

    assert os.path.realpath(rules.__file__) == os.path.realpath(mirror_rules.__file__)
    for name in ("SESSION_NUMBER_RANGE", "PACKET_LENGTH_RANGE", "VIRTUAL_NETWORK_ID_RANGE"):
        assert getattr(tm_params, name) is getattr(mirror_rules, name)
    assert config.SESSION_NUMBER_RANGE is rules.SESSION_NUMBER_RANGE
    assert config.PACKET_LENGTH_RANGE is rules.PACKET_LENGTH_RANGE
    assert config.VNI_RANGE is rules.VIRTUAL_NETWORK_ID_RANGE
