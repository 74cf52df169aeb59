"""The mirror_limits lookup gives the mirror_collector role the session limits of the rule model, and names the
allowed limits when asked for another."""

import pytest
from ansible.errors import AnsibleError

from ansible_collections.netmirror.traffic_mirror.plugins.lookup.mirror_limits import LookupModule
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import mirror_rules


def test_each_limit_is_the_rule_models_range_in_the_order_asked():
    assert LookupModule().run(["virtual_network_id", "session_number", "packet_length"]) == [
        list(mirror_rules.VIRTUAL_NETWORK_ID_RANGE),
        list(mirror_rules.SESSION_NUMBER_RANGE),
        list(mirror_rules.PACKET_LENGTH_RANGE),
    ]
    assert mirror_rules.VIRTUAL_NETWORK_ID_RANGE == (0, 2**24 - 1)  # VXLAN's 24-bit network identifier


@pytest.mark.parametrize(
    "terms, named",
    [(["vni"], "unknown limit 'vni'"), (["session_number", "rule"], "unknown limit 'rule'"), ([], "(none named)")],
)
def test_an_unknown_limit_is_refused_naming_the_allowed_ones(terms, named):
    with pytest.raises(AnsibleError) as raised:
        LookupModule().run(terms)
    assert named in str(raised.value)
    assert "allowed: packet_length, session_number, virtual_network_id." in str(raised.value)
