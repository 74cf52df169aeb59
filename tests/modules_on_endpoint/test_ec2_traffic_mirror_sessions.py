"""ec2_traffic_mirror_sessions (the resource module for sets of sessions) against the offline EC2 endpoint.

Each test reads the endpoint's request log to prove what reached it, and what did not.
"""

import math

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_sessions as module

DESCRIBE = "DescribeTrafficMirrorSessions"


def run(aws, check_mode=False, **args):
    return aws.run(module.main, check_mode=check_mode, **args)


def item(aws, eni, number, **extra):
    desired = dict(
        network_interface_id=eni,
        session_number=number,
        traffic_mirror_target_id=aws.target,
        traffic_mirror_filter_id=aws.filter,
    )
    desired.update(extra)
    return desired


def stored(aws):
    pages = aws.ec2.get_paginator("describe_traffic_mirror_sessions").paginate()
    return [s for page in pages for s in page["TrafficMirrorSessions"]]


def writes(aws):
    return aws.real_writes()


def nlb_target(aws):
    """A Network Load Balancer target: no quota of sources (an ENI target takes 10)."""
    network = aws.endpoint.create_network(eni_count=0)
    return aws.ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=network["nlb_arn"])["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"
    ]


def many_enis(aws, count):
    subnet = aws.ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    return [
        aws.ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
        for _eni in range(count)
    ]


# --- converge and re-run ---------------------------------------------------------------------


def test_a_scope_of_more_interfaces_than_one_describe_may_name_is_read_in_calls_of_200_values(aws):
    """EC2 refuses more than 200 filter values in one call (FilterLimitExceeded; the endpoint does too): the audit's
    one network-interface-id value per interface is split across calls, and each session is reported once."""
    enis = many_enis(aws, 437) + list(aws.enis)
    config = [item(aws, eni, 1) for eni in aws.enis]
    for desired in config:
        aws.ec2.create_traffic_mirror_session(**plan_request(desired))
    aws.endpoint.clear_requests()

    result = run(aws, state="gathered", scope_filters={"network-interface-id": enis, "session-number": ["1"]})

    assert not result.get("failed"), result.get("msg")
    assert sorted(s["network_interface_id"] for s in result["gathered"]) == sorted(aws.enis)
    assert aws.actions() == [DESCRIBE] * math.ceil(len(enis) / 199)


def plan_request(desired):
    return dict(
        NetworkInterfaceId=desired["network_interface_id"],
        SessionNumber=desired["session_number"],
        TrafficMirrorTargetId=desired["traffic_mirror_target_id"],
        TrafficMirrorFilterId=desired["traffic_mirror_filter_id"],
    )


def test_converging_1000_new_sessions_sends_1000_creates_and_a_rerun_no_write(aws):
    target = nlb_target(aws)
    enis = many_enis(aws, 334)
    config = [
        dict(item(aws, enis[n // 3], n % 3 + 1, traffic_mirror_target_id=target), tags={"fleet": "web"})
        for n in range(1000)
    ]
    aws.endpoint.clear_requests()

    result = run(aws, config=config, scope_filters={"tag:fleet": "web"})

    assert result["changed"] is True, result.get("msg")
    assert writes(aws) == ["CreateTrafficMirrorSession"] * 1000
    assert aws.actions().count(DESCRIBE) == 1
    assert len(stored(aws)) == 1000 and len(result["after"]) == 1000 and result["before"] == []
    assert [c["action"] for c in result["changes"]] == ["create"] * 1000

    aws.endpoint.clear_requests()
    again = run(aws, config=config, scope_filters={"tag:fleet": "web"})
    assert again["changed"] is False and again["changes"] == []
    assert writes(aws) == [] and aws.actions(dry_run=True) == []
    assert aws.actions().count(DESCRIBE) <= math.ceil(1000 / 1000) + 1
    assert set(aws.actions()) == {DESCRIBE}


def test_merged_modifies_only_what_differs_and_leaves_other_sessions_alone(aws):
    run(aws, config=[item(aws, aws.enis[0], 1, packet_length=128), item(aws, aws.enis[1], 1)])
    untouched = item(aws, aws.enis[2], 1)
    run(aws, config=[untouched])
    aws.endpoint.clear_requests()

    result = run(aws, config=[item(aws, aws.enis[0], 1, packet_length=256, tags={"a": "1"})])

    assert result["changed"] is True
    assert sorted(writes(aws)) == ["CreateTags", "ModifyTrafficMirrorSession"]
    (modify,) = [c for c in result["changes"] if c["action"] == "modify"]
    assert set(modify["request"]) == {"PacketLength", "TrafficMirrorSessionId"}
    assert [(s["network_interface_id"], s["packet_length"], s["tags"]) for s in result["after"]] == [
        (aws.enis[0], 256, {"a": "1"})
    ]
    assert result["drifted"][0]["changes"]["packet_length"] == {"actual": 128, "desired": 256}
    assert len(stored(aws)) == 3


def test_replaced_sets_left_out_fields_back_to_aws_defaults(aws):
    run(aws, config=[item(aws, aws.enis[0], 1, packet_length=128, description="d", tags={"a": "1"})])
    aws.endpoint.clear_requests()

    result = run(aws, state="replaced", config=[item(aws, aws.enis[0], 1)])

    assert sorted(writes(aws)) == ["DeleteTags", "ModifyTrafficMirrorSession"]
    (modify,) = [c for c in result["changes"] if c["action"] == "modify"]
    assert sorted(modify["request"]["RemoveFields"]) == ["description", "packet-length"]
    (session,) = stored(aws)
    assert "PacketLength" not in session and "Description" not in session and not session.get("Tags")


# --- scope ------------------------------------------------------------------------------------


def test_overridden_deletes_unlisted_sessions_in_scope_only_even_on_the_same_enis(aws):
    mine = {"owner": "ids"}
    run(
        aws,
        config=[
            item(aws, aws.enis[0], 1, tags=mine),
            item(aws, aws.enis[0], 2, tags=mine),
            item(aws, aws.enis[1], 1, tags=mine),
        ],
    )
    # Someone else's sessions on the same interfaces: outside the scope.
    run(aws, config=[item(aws, aws.enis[0], 3, tags={"owner": "other"}), item(aws, aws.enis[1], 2)])
    theirs = {s["TrafficMirrorSessionId"] for s in stored(aws) if {"Key": "owner", "Value": "ids"} not in s["Tags"]}
    aws.endpoint.clear_requests()

    result = run(
        aws,
        state="overridden",
        scope_filters={"tag:owner": "ids"},
        config=[item(aws, aws.enis[0], 1, tags=mine, packet_length=64)],
    )

    assert result["changed"] is True, result.get("msg")
    assert sorted(writes(aws)) == ["DeleteTrafficMirrorSession"] * 2 + ["ModifyTrafficMirrorSession"]
    assert {s["TrafficMirrorSessionId"] for s in stored(aws)} >= theirs
    touched = {c.get("traffic_mirror_session_id") for c in result["changes"]}
    assert not touched & theirs
    assert len(result["extra"]) == 2 and all(s["tags"] == mine for s in result["extra"])
    assert len(stored(aws)) == 3


@pytest.mark.parametrize("state, config", [("overridden", [{}]), ("deleted", [])])
def test_overridden_and_deleted_without_config_refuse_without_scope_filters(aws, state, config):
    run(aws, config=[item(aws, aws.enis[0], 1)])
    aws.endpoint.clear_requests()
    if config:
        config = [item(aws, aws.enis[1], 1)]

    result = run(aws, state=state, config=config)

    assert result["failed"] is True
    assert "scope_filters is empty" in result["msg"] and "state={0}".format(state) in result["msg"]
    assert aws.endpoint.requests() == []
    assert len(stored(aws)) == 1


def test_deleted_with_config_deletes_the_listed_sessions_only(aws):
    run(aws, config=[item(aws, aws.enis[0], 1), item(aws, aws.enis[1], 1)])
    aws.endpoint.clear_requests()
    result = run(aws, state="deleted", config=[{"network_interface_id": aws.enis[0], "session_number": 1}])
    assert writes(aws) == ["DeleteTrafficMirrorSession"]
    assert [s["NetworkInterfaceId"] for s in stored(aws)] == [aws.enis[1]]
    assert result["after"] == []
    aws.endpoint.clear_requests()
    assert (
        run(aws, state="deleted", config=[{"network_interface_id": aws.enis[0], "session_number": 1}])["changed"]
        is False
    )
    assert writes(aws) == []


def test_deleted_with_scope_and_no_config_deletes_every_session_in_scope(aws):
    run(aws, config=[item(aws, aws.enis[0], 1, tags={"t": "x"}), item(aws, aws.enis[1], 1, tags={"t": "x"})])
    run(aws, config=[item(aws, aws.enis[2], 1)])
    aws.endpoint.clear_requests()
    result = run(aws, state="deleted", scope_filters={"tag-key": "t"})
    assert result["changed"] is True
    assert writes(aws) == ["DeleteTrafficMirrorSession"] * 2
    assert [s["NetworkInterfaceId"] for s in stored(aws)] == [aws.enis[2]]


# --- gathered and rendered --------------------------------------------------------------------


def test_gathered_fed_back_as_merged_changes_nothing(aws):
    run(
        aws,
        config=[
            item(aws, aws.enis[0], 1, packet_length=100, description="x", tags={"g": "1"}),
            item(aws, aws.enis[1], 2, tags={"g": "1"}),
        ],
    )
    aws.endpoint.clear_requests()
    gathered = run(aws, state="gathered", scope_filters={"tag:g": "1"})
    assert gathered["changed"] is False and len(gathered["gathered"]) == 2
    assert writes(aws) == []
    aws.endpoint.clear_requests()

    result = run(aws, state="merged", config=gathered["gathered"], scope_filters={"tag:g": "1"})

    assert result["changed"] is False, result["changes"]
    assert aws.actions() == [DESCRIBE]


def test_rendered_contacts_no_aws(aws):
    result = run(aws, state="rendered", config=[item(aws, aws.enis[0], 1, packet_length=64)], endpoint_url=None)
    (change,) = result["rendered"]
    assert change["action"] == "create" and change["request"]["PacketLength"] == 64
    assert change["request"]["ClientToken"].startswith("netmirror-")
    assert aws.endpoint.requests() == []


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, words",
    [
        (dict(session_number=0), ["config[1].session_number=0", "allowed 1-32766"]),
        (dict(packet_length=9000), ["config[1].packet_length=9000", "allowed 1-8500"]),
        (dict(traffic_mirror_target_id="tmt-nope"), ["config[1].traffic_mirror_target_id='tmt-nope'", "hex digits"]),
        (dict(network_interface_id=None), ["config[1]", "network_interface_id together with session_number"]),
        (dict(tags={"aws:x": "1"}), ["config[1].tags key 'aws:x'", "reserved"]),
    ],
)
def test_one_bad_item_fails_the_task_with_zero_requests(aws, bad, words):
    config = [item(aws, aws.enis[0], 1), item(aws, aws.enis[1], 1, **bad)]
    result = run(aws, config=config)
    assert result["failed"] is True
    for word in words:
        assert word in result["msg"], result["msg"]
    assert aws.endpoint.requests() == []


def test_duplicates_and_more_than_three_per_interface_fail_before_any_call(aws):
    config = [item(aws, aws.enis[0], n) for n in (1, 2, 3, 4)] + [item(aws, aws.enis[0], 1)]
    result = run(aws, config=config)
    assert "config[4] names the same session as config[0]" in result["msg"]
    assert "at most 3 per network interface" in result["msg"]
    assert aws.endpoint.requests() == []


def test_create_without_target_is_reported_before_any_write(aws):
    result = run(aws, config=[item(aws, aws.enis[0], 1), dict(network_interface_id=aws.enis[1], session_number=1)])
    assert result["failed"] is True
    assert (
        "config[1]: creating session number 1 on {0} requires traffic_mirror_target_id".format(aws.enis[1])
        in (result["msg"])
    )
    assert writes(aws) == []


# --- faults and partial failure ---------------------------------------------------------------


def test_lost_create_responses_and_throttles_still_make_exactly_20_sessions(aws):
    target = nlb_target(aws)
    enis = many_enis(aws, 7)
    config = [item(aws, enis[n // 3], n % 3 + 1, traffic_mirror_target_id=target) for n in range(20)]
    aws.endpoint.clear_requests()
    aws.endpoint.set_faults(
        drop_response_after_write={"count": 3, "actions": ["CreateTrafficMirrorSession"]},
        throttle={"count": 6, "actions": ["CreateTrafficMirrorSession", DESCRIBE]},
    )

    result = run(aws, config=config)

    assert result.get("failed") is not True, result.get("msg")
    assert aws.endpoint.faults() == {}, "every fault was hit"
    faults = [r["fault"] for r in aws.endpoint.requests() if r["fault"]]
    assert sorted(faults) == ["drop_response_after_write"] * 3 + ["throttle"] * 6
    assert len(stored(aws)) == 20
    assert len({(s["NetworkInterfaceId"], s["SessionNumber"]) for s in stored(aws)}) == 20
    assert len(result["after"]) == 20
    again = run(aws, config=config)
    assert again["changed"] is False


def test_partial_failure_says_what_was_done_and_after_is_what_is_there(aws):
    # The ENI target takes 10 sources: the 11th source cannot be mirrored to it.
    enis = many_enis(aws, 11)
    config = [item(aws, eni, 1) for eni in enis]
    aws.endpoint.clear_requests()

    result = run(aws, config=config)

    assert result["failed"] is True
    assert aws.actions().count(DESCRIBE) == 2  # the plan's read and the read-back
    assert "1 of 11 planned writes failed, 10 done, 1 not done" in result["msg"]
    assert "10 sources" in result["msg"] or "maximum number of sources" in result["msg"]
    (failure,) = result["failures"]
    assert failure["error_code"] == "TrafficMirrorSourcesPerTargetLimitExceeded"
    assert len(result["done"]) == 10 and len(result["not_done"]) == 1
    assert len(result["after"]) == len(stored(aws)) == 10


# --- check mode -------------------------------------------------------------------------------


def test_check_mode_sends_every_planned_write_as_dry_run_and_predicts_after(aws):
    run(aws, config=[item(aws, aws.enis[0], 1)])
    aws.endpoint.clear_requests()
    config = [item(aws, aws.enis[0], 1, packet_length=99), item(aws, aws.enis[1], 1)]

    result = run(aws, check_mode=True, config=config)

    assert result["changed"] is True
    assert writes(aws) == []
    assert sorted(aws.actions(dry_run=True)) == ["CreateTrafficMirrorSession", "ModifyTrafficMirrorSession"]
    assert sorted((s["network_interface_id"], s.get("packet_length")) for s in result["after"]) == sorted(
        [(aws.enis[0], 99), (aws.enis[1], None)]
    )
    assert len(stored(aws)) == 1


def test_check_mode_without_dry_run_only_reads(aws):
    result = run(aws, check_mode=True, check_mode_dry_run=False, config=[item(aws, aws.enis[0], 1)])
    assert result["changed"] is True and len(result["missing"]) == 1
    assert aws.actions() == [DESCRIBE]


def test_check_mode_with_read_only_credentials_names_every_missing_permission(aws):
    import aws_lab

    run(aws, config=[item(aws, aws.enis[0], 1)])
    key, secret = aws_lab.readonly_user(aws.endpoint.client("iam"), name="ro-sessions")
    aws.endpoint.clear_requests()
    config = [item(aws, aws.enis[0], 1, packet_length=10), item(aws, aws.enis[1], 1)]

    result = run(aws, check_mode=True, config=config, access_key=key, secret_key=secret)

    assert result["failed"] is True
    assert sorted(f["iam_action"] for f in result["failures"]) == [
        "ec2:CreateTrafficMirrorSession",
        "ec2:ModifyTrafficMirrorSession",
    ]
    assert len(result["drifted"]) == 1 and len(result["missing"]) == 1
    assert writes(aws) == []


def test_invalid_items_report_plans_the_valid_ones_and_lists_the_invalid(aws):
    config = [item(aws, aws.enis[0], 1), item(aws, aws.enis[1], 1, traffic_mirror_target_id="tmt-bad")]
    result = run(aws, check_mode=True, check_mode_dry_run=False, invalid_items="report", config=config)
    assert result.get("failed") is not True, result.get("msg")
    (invalid,) = result["invalid"]
    assert invalid["config_index"] == 1 and "config[1].traffic_mirror_target_id='tmt-bad'" in invalid["messages"][0]
    assert result["missing_indexes"] == [0, 1]
    assert [c["config_index"] for c in result["changes"]] == [0]
    assert aws.actions() == [DESCRIBE]


def test_invalid_items_report_holds_their_sessions_and_reports_unplannable_items(aws):
    run(aws, config=[item(aws, aws.enis[0], 1), item(aws, aws.enis[1], 1)], scope_filters={})
    aws.endpoint.clear_requests()
    config = [
        item(aws, aws.enis[0], 1, traffic_mirror_target_id="tmt-bad"),  # invalid; its session exists
        dict(network_interface_id=aws.enis[2], session_number=1),  # a create without target or filter
        item(aws, aws.enis[1], 1, packet_length=64),
    ]
    scope = {"network-interface-id": list(aws.enis[:3])}

    result = run(aws, check_mode=True, state="overridden", invalid_items="report", config=config, scope_filters=scope)

    assert result.get("failed") is not True, result.get("msg")
    assert [i["config_index"] for i in result["invalid"]] == [0, 1]
    assert "requires traffic_mirror_target_id" in result["invalid"][1]["messages"][0]
    assert result["extra"] == []  # the invalid item's session is not taken for an extra one...
    assert [c["action"] for c in result["changes"]] == ["modify"]  # ...nor deleted
    assert result["missing_indexes"] == [1]
    assert aws.actions(dry_run=True) == ["ModifyTrafficMirrorSession"] and writes(aws) == []
