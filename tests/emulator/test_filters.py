"""Filters, filter rules and network services."""

from __future__ import annotations

import re

import pytest

from .support import code, error_of

RULE = {
    "TrafficDirection": "ingress",
    "RuleNumber": 10,
    "RuleAction": "accept",
    "SourceCidrBlock": "0.0.0.0/0",
    "DestinationCidrBlock": "10.0.0.0/8",
}


def the_filter(ec2, filter_id):
    (found,) = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"]
    return found


def add_rule(ec2, filter_id, **kw):
    return ec2.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=filter_id, **{**RULE, **kw})[
        "TrafficMirrorFilterRule"
    ]


def test_rules_appear_in_the_filter_by_direction_and_number(ec2, filter_id):
    later = add_rule(
        ec2,
        filter_id,
        RuleNumber=20,
        Protocol=6,
        DestinationPortRange={"FromPort": 443, "ToPort": 443},
        Description="https",
    )
    earlier = add_rule(
        ec2,
        filter_id,
        RuleNumber=5,
        RuleAction="reject",
        Protocol=17,
        SourcePortRange={"FromPort": 53, "ToPort": 53},
    )
    egress = add_rule(
        ec2,
        filter_id,
        TrafficDirection="egress",
        SourceCidrBlock="::/0",
        DestinationCidrBlock="2001:db8::/32",
    )
    assert re.fullmatch(r"tmfr-[0-9a-f]{17}", later["TrafficMirrorFilterRuleId"])
    found = the_filter(ec2, filter_id)
    assert [r["TrafficMirrorFilterRuleId"] for r in found["IngressFilterRules"]] == [
        earlier["TrafficMirrorFilterRuleId"],
        later["TrafficMirrorFilterRuleId"],
    ]
    assert [r["TrafficMirrorFilterRuleId"] for r in found["EgressFilterRules"]] == [
        egress["TrafficMirrorFilterRuleId"]
    ]
    https = found["IngressFilterRules"][1]
    assert https["DestinationPortRange"] == {"FromPort": 443, "ToPort": 443}
    assert (https["Protocol"], https["Description"], https["TrafficMirrorFilterId"]) == (
        6,
        "https",
        filter_id,
    )
    assert "SourcePortRange" not in https


@pytest.mark.parametrize(
    "bad",
    [
        {"RuleNumber": 0},
        {"RuleNumber": 32767},
        {"Protocol": 256},
        {"Protocol": -1},
        {"SourceCidrBlock": "10.0.0.300/8"},
        {"DestinationCidrBlock": "not-a-cidr"},
        {"DestinationCidrBlock": "2001:db8::/32"},  # other family than the source
        {"Protocol": 6, "DestinationPortRange": {"FromPort": 90, "ToPort": 80}},
        {"Protocol": 6, "DestinationPortRange": {"FromPort": 0, "ToPort": 65536}},
        {"Protocol": 1, "DestinationPortRange": {"FromPort": 80, "ToPort": 80}},
        {"SourcePortRange": {"FromPort": 80, "ToPort": 80}},  # ports without protocol
    ],
)
def test_invalid_rules_are_rejected(ec2, filter_id, bad):
    assert code(error_of(add_rule, ec2, filter_id, **bad)) == "InvalidParameterValue"
    assert the_filter(ec2, filter_id)["IngressFilterRules"] == []


def test_rule_action_and_direction_values(ec2, filter_id):
    assert code(error_of(add_rule, ec2, filter_id, RuleAction="drop")) == "InvalidParameterValue"
    assert code(error_of(add_rule, ec2, filter_id, TrafficDirection="both")) == "InvalidParameterValue"


def test_rule_numbers_unique_per_direction(ec2, filter_id):
    add_rule(ec2, filter_id, RuleNumber=1)
    assert code(error_of(add_rule, ec2, filter_id, RuleNumber=1)) == "TrafficMirrorFilterRuleAlreadyExists"
    add_rule(ec2, filter_id, RuleNumber=1, TrafficDirection="egress")


def test_ten_rules_per_direction(ec2, filter_id):
    for number in range(1, 11):
        add_rule(ec2, filter_id, RuleNumber=number)
    assert code(error_of(add_rule, ec2, filter_id, RuleNumber=11)) == "TrafficMirrorFilterRuleLimitExceeded"
    add_rule(ec2, filter_id, RuleNumber=11, TrafficDirection="egress")
    assert len(the_filter(ec2, filter_id)["IngressFilterRules"]) == 10


def test_unknown_filter_for_rule(ec2):
    error = error_of(add_rule, ec2, "tmf-0123456789abcdef0")
    assert code(error) == "InvalidTrafficMirrorFilterId.NotFound"


def test_modify_rule_and_remove_fields(ec2, filter_id):
    rule = add_rule(
        ec2,
        filter_id,
        Protocol=6,
        DestinationPortRange={"FromPort": 80, "ToPort": 80},
        SourcePortRange={"FromPort": 1024, "ToPort": 65535},
        Description="web",
    )
    rule_id = rule["TrafficMirrorFilterRuleId"]
    modified = ec2.modify_traffic_mirror_filter_rule(
        TrafficMirrorFilterRuleId=rule_id,
        RuleAction="reject",
        RuleNumber=30,
        RemoveFields=["destination-port-range", "source-port-range", "protocol", "description"],
    )["TrafficMirrorFilterRule"]
    assert (modified["RuleAction"], modified["RuleNumber"]) == ("reject", 30)
    for gone in ("DestinationPortRange", "SourcePortRange", "Protocol", "Description"):
        assert gone not in modified
    (described,) = the_filter(ec2, filter_id)["IngressFilterRules"]
    assert described == modified


def test_modify_rule_keeps_rules_valid(ec2, filter_id):
    rule = add_rule(ec2, filter_id, Protocol=6, DestinationPortRange={"FromPort": 80, "ToPort": 80})
    rule_id = rule["TrafficMirrorFilterRuleId"]
    add_rule(ec2, filter_id, RuleNumber=11)
    # removing the protocol would leave a port range without TCP/UDP
    assert (
        code(
            error_of(
                ec2.modify_traffic_mirror_filter_rule,
                TrafficMirrorFilterRuleId=rule_id,
                RemoveFields=["protocol"],
            )
        )
        == "InvalidParameterValue"
    )
    assert (
        code(
            error_of(ec2.modify_traffic_mirror_filter_rule, TrafficMirrorFilterRuleId=rule_id, RuleNumber=11)
        )
        == "TrafficMirrorFilterRuleAlreadyExists"
    )
    assert (
        code(
            error_of(
                ec2.modify_traffic_mirror_filter_rule,
                TrafficMirrorFilterRuleId="tmfr-0123456789abcdef0",
                RuleNumber=2,
            )
        )
        == "InvalidTrafficMirrorFilterRuleId.NotFound"
    )
    moved = ec2.modify_traffic_mirror_filter_rule(
        TrafficMirrorFilterRuleId=rule_id, TrafficDirection="egress", RuleNumber=11
    )["TrafficMirrorFilterRule"]
    assert moved["TrafficDirection"] == "egress"
    found = the_filter(ec2, filter_id)
    assert len(found["IngressFilterRules"]) == 1 and len(found["EgressFilterRules"]) == 1


def test_delete_rule(ec2, filter_id):
    rule_id = add_rule(ec2, filter_id)["TrafficMirrorFilterRuleId"]
    assert (
        ec2.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id)["TrafficMirrorFilterRuleId"]
        == rule_id
    )
    assert the_filter(ec2, filter_id)["IngressFilterRules"] == []
    assert code(error_of(ec2.delete_traffic_mirror_filter_rule, TrafficMirrorFilterRuleId=rule_id)) == (
        "InvalidTrafficMirrorFilterRuleId.NotFound"
    )


def test_describe_filter_rules(ec2, filter_id):
    other = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    tcp = add_rule(ec2, filter_id, Protocol=6)
    add_rule(ec2, filter_id, RuleNumber=11, RuleAction="reject")
    add_rule(ec2, other)
    describe = ec2.describe_traffic_mirror_filter_rules
    assert len(describe()["TrafficMirrorFilterRules"]) == 3
    assert len(describe(TrafficMirrorFilterId=filter_id)["TrafficMirrorFilterRules"]) == 2
    only = describe(Filters=[{"Name": "protocol", "Values": ["6"]}])["TrafficMirrorFilterRules"]
    assert [r["TrafficMirrorFilterRuleId"] for r in only] == [tcp["TrafficMirrorFilterRuleId"]]
    assert (
        len(describe(Filters=[{"Name": "rule-action", "Values": ["reject"]}])["TrafficMirrorFilterRules"])
        == 1
    )
    by_id = describe(TrafficMirrorFilterRuleIds=[tcp["TrafficMirrorFilterRuleId"]])[
        "TrafficMirrorFilterRules"
    ]
    assert by_id[0]["RuleNumber"] == 10
    assert code(error_of(describe, TrafficMirrorFilterRuleIds=["tmfr-0123456789abcdef0"])) == (
        "InvalidTrafficMirrorFilterRuleId.NotFound"
    )


def test_network_services(ec2, filter_id):
    modify = ec2.modify_traffic_mirror_filter_network_services
    added = modify(TrafficMirrorFilterId=filter_id, AddNetworkServices=["amazon-dns"])["TrafficMirrorFilter"]
    assert added["NetworkServices"] == ["amazon-dns"]
    assert the_filter(ec2, filter_id)["NetworkServices"] == ["amazon-dns"]
    assert code(error_of(modify, TrafficMirrorFilterId=filter_id, AddNetworkServices=["ntp"])) == (
        "InvalidParameterValue"
    )
    modify(TrafficMirrorFilterId=filter_id, RemoveNetworkServices=["amazon-dns"])
    assert the_filter(ec2, filter_id)["NetworkServices"] == []
    assert code(
        error_of(modify, TrafficMirrorFilterId="tmf-0123456789abcdef0", AddNetworkServices=["amazon-dns"])
    ) == ("InvalidTrafficMirrorFilterId.NotFound")


def test_delete_filter_deletes_its_rules(ec2, filter_id):
    rule_id = add_rule(ec2, filter_id)["TrafficMirrorFilterRuleId"]
    assert (
        ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filter_id)["TrafficMirrorFilterId"]
        == filter_id
    )
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []
    assert ec2.describe_traffic_mirror_filter_rules()["TrafficMirrorFilterRules"] == []
    assert code(error_of(ec2.delete_traffic_mirror_filter_rule, TrafficMirrorFilterRuleId=rule_id)) == (
        "InvalidTrafficMirrorFilterRuleId.NotFound"
    )


def test_delete_filter_in_use_is_a_dependency_violation(ec2, make_session, filter_id):
    make_session()
    assert (
        code(error_of(ec2.delete_traffic_mirror_filter, TrafficMirrorFilterId=filter_id))
        == "DependencyViolation"
    )
    assert len(ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"]) == 1


def test_delete_unknown_filter(ec2):
    assert code(
        error_of(ec2.delete_traffic_mirror_filter, TrafficMirrorFilterId="tmf-0123456789abcdef0")
    ) == ("InvalidTrafficMirrorFilterId.NotFound")
