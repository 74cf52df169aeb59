"""ec2_traffic_mirror_filter and ec2_traffic_mirror_filter_info against the offline EC2 endpoint."""

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_filter as module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_filter_info as info_module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session as session_module

ANY4 = "0.0.0.0/0"


def rule(number, action="accept", **extra):
    base = dict(rule_number=number, rule_action=action, source_cidr_block=ANY4, destination_cidr_block=ANY4)
    base.update(extra)
    return base


WEB = [
    rule(10, "reject", protocol="tcp", source_cidr_block="198.18.9.0/24"),
    rule(100, protocol="tcp", destination_port_range={"from_port": 443, "to_port": 443}, description="https"),
]
ALL_OUT = [rule(100)]


def stored_rules(aws, filter_id, direction="Ingress"):
    (found,) = aws.ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"]
    return sorted((r["RuleNumber"], r["RuleAction"], r.get("Protocol")) for r in found[direction + "FilterRules"])


def create(aws, **extra):
    args = dict(
        name="web", description="web tier", ingress_rules=WEB, egress_rules=ALL_OUT, network_services=["amazon-dns"]
    )
    args.update(extra)
    result = aws.run(module.main, **args)
    assert not result.get("failed"), result
    aws.endpoint.clear_requests()
    return result["traffic_mirror_filter"]


def test_create_with_rules_returns_the_shape_it_takes(aws):
    made = create(aws)
    assert made["traffic_mirror_filter_id"].startswith("tmf-")
    assert made["network_services"] == ["amazon-dns"]
    assert made["ingress_rules"] == [
        rule(10, "reject", protocol=6, source_cidr_block="198.18.9.0/24"),
        rule(100, protocol=6, destination_port_range={"from_port": 443, "to_port": 443}, description="https"),
    ]
    assert stored_rules(aws, made["traffic_mirror_filter_id"]) == [(10, "reject", 6), (100, "accept", 6)]
    # The returned rules fed back unchanged change nothing, with one Describe call.
    aws.endpoint.clear_requests()
    again = aws.run(
        module.main,
        name="web",
        ingress_rules=made["ingress_rules"],
        egress_rules=made["egress_rules"],
        network_services=made["network_services"],
    )
    assert again["changed"] is False
    assert aws.actions() == ["DescribeTrafficMirrorFilters"]


def test_info_returns_rules_the_module_takes(aws):
    made = create(aws)
    (listed,) = aws.run(info_module.main, filters={"tag:Name": "web"})["traffic_mirror_filters"]
    assert listed == made
    copy = aws.run(module.main, name="copy", ingress_rules=listed["ingress_rules"], egress_rules=listed["egress_rules"])
    assert copy["traffic_mirror_filter"]["ingress_rules"] == made["ingress_rules"]


def test_changed_rule_is_modified_in_place_and_renumbered_rule_is_one_call(aws):
    made = create(aws)
    rules = [
        rule(10, "reject", protocol="tcp", source_cidr_block="198.18.9.0/24"),
        rule(200, protocol="tcp", destination_port_range={"from_port": 443, "to_port": 443}, description="https"),
    ]
    rules[0]["protocol"] = "udp"
    result = aws.run(module.main, name="web", ingress_rules=rules)
    assert result["changed"] is True
    assert aws.real_writes() == ["ModifyTrafficMirrorFilterRule", "ModifyTrafficMirrorFilterRule"]
    assert stored_rules(aws, made["traffic_mirror_filter_id"]) == [(10, "reject", 17), (200, "accept", 6)]


def test_purge_rules_false_keeps_unlisted_rules(aws):
    made = create(aws)
    aws.run(module.main, name="web", ingress_rules=[rule(50)], purge_rules=False)
    assert [rule[0] for rule in stored_rules(aws, made["traffic_mirror_filter_id"])] == [10, 50, 100]
    aws.run(module.main, name="web", ingress_rules=[rule(50)])
    assert stored_rules(aws, made["traffic_mirror_filter_id"]) == [(50, "accept", None)]
    assert stored_rules(aws, made["traffic_mirror_filter_id"], "Egress") == [(100, "accept", None)]  # egress left alone


def test_network_services_removed_with_empty_list(aws):
    made = create(aws)
    result = aws.run(module.main, name="web", network_services=[])
    assert result["changed"] is True and result["traffic_mirror_filter"]["network_services"] == []
    assert aws.real_writes() == ["ModifyTrafficMirrorFilterNetworkServices"]
    (found,) = aws.ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[made["traffic_mirror_filter_id"]])[
        "TrafficMirrorFilters"
    ]
    assert not found.get("NetworkServices")


def test_check_mode_changes_nothing(aws):
    made = create(aws)
    result = aws.run(module.main, check_mode=True, diff=True, name="web", ingress_rules=[rule(1)], network_services=[])
    assert result["changed"] is True
    assert result["diff"]["after"]["ingress_rules"] == [rule(1)]
    assert aws.real_writes() == []
    # rules 10 and 100 go, rule 1 comes: each write proven by a DryRun call, deletes first
    assert aws.actions(dry_run=True) == [
        "DeleteTrafficMirrorFilterRule",
        "DeleteTrafficMirrorFilterRule",
        "CreateTrafficMirrorFilterRule",
        "ModifyTrafficMirrorFilterNetworkServices",
    ]
    assert [rule[0] for rule in stored_rules(aws, made["traffic_mirror_filter_id"])] == [10, 100]


def test_description_change_needs_replace(aws):
    create(aws)
    refused = aws.run(module.main, name="web", description="other")
    assert refused["failed"] and "cannot modify a filter's description" in refused["msg"]
    replaced = aws.run(module.main, name="web", description="other", ingress_rules=WEB, replace=True)
    assert replaced["changed"] is True and replaced["traffic_mirror_filter"]["description"] == "other"


def test_deleting_a_filter_in_use_lists_its_sessions(aws):
    made = create(aws)
    session = aws.run(
        session_module.main,
        network_interface_id=aws.enis[0],
        session_number=1,
        traffic_mirror_target_id=aws.target,
        traffic_mirror_filter_id=made["traffic_mirror_filter_id"],
    )["traffic_mirror_session"]
    refused = aws.run(module.main, name="web", state="absent")
    assert refused["failed"] and session["traffic_mirror_session_id"] in refused["msg"]


def test_delete_and_delete_again(aws):
    create(aws)
    assert aws.run(module.main, name="web", state="absent")["changed"] is True
    assert aws.run(module.main, name="web", state="absent")["changed"] is False


BAD_RULES = [
    ([rule(i) for i in range(1, 12)], "ingress_rules: 11 rules (allowed: at most 10 per direction)"),
    ([rule(5), rule(5, "reject")], "rule_number: 5 is used twice"),
    ([rule(5, source_cidr_block="2001:db8::/32")], "both must be IPv4 or both IPv6"),
    (
        [rule(5, protocol=1, destination_port_range={"from_port": 1, "to_port": 2})],
        "port ranges need protocol 6 (tcp) or 17 (udp)",
    ),
    ([rule(5, protocol="tcp", destination_port_range={"from_port": 90, "to_port": 80})], "destination_port_range"),
    ([rule(5, protocol="tcp", source_port_range={"from_port": 0, "to_port": 70000})], "source_port_range"),
    ([rule(5, protocol="gre-ish")], "protocol"),
    ([rule(40000)], "rule_number"),
]


@pytest.mark.parametrize("rules, message", BAD_RULES, ids=[message for _rules, message in BAD_RULES])
def test_bad_rules_fail_naming_rule_and_field_before_any_call(aws, rules, message):
    result = aws.run(module.main, name="bad", ingress_rules=rules)
    assert result["failed"], result
    assert message in result["msg"]
    assert "ingress_rules" in result["msg"]
    assert aws.actions() == []
