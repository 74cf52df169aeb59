"""ec2_traffic_mirror_target and ec2_traffic_mirror_target_info against the offline EC2 endpoint."""

from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session as session_module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_target as module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_target_info as info_module


def targets_named(aws, name):
    return aws.ec2.describe_traffic_mirror_targets(Filters=[{"Name": "tag:Name", "Values": [name]}])[
        "TrafficMirrorTargets"
    ]


def test_create_by_name_then_rerun_is_one_describe(aws):
    args = dict(name="ids-1", network_interface_id=aws.target_enis[0], description="sensor", tags={"team": "secops"})
    created = aws.run(module.main, **args)
    assert created["changed"] is True
    target = created["traffic_mirror_target"]
    assert target["traffic_mirror_target_id"].startswith("tmt-")
    assert target["type"] == "network-interface"
    assert target["tags"] == {"Name": "ids-1", "team": "secops"}
    aws.endpoint.clear_requests()

    again = aws.run(module.main, **args)
    assert again["changed"] is False
    assert aws.actions() == ["DescribeTrafficMirrorTargets"]
    assert len(targets_named(aws, "ids-1")) == 1


def test_check_mode_create_is_a_dry_run(aws):
    result = aws.run(module.main, check_mode=True, name="dry", network_interface_id=aws.target_enis[0])
    assert result["changed"] is True
    assert aws.actions(dry_run=True) == ["CreateTrafficMirrorTarget"]
    assert targets_named(aws, "dry") == []


def test_exactly_one_destination(aws):
    none = aws.run(module.main, name="nowhere")
    assert none["failed"] and "exactly one of network_interface_id" in none["msg"]
    both = aws.run(
        module.main,
        name="two",
        network_interface_id=aws.target_enis[0],
        gateway_load_balancer_endpoint_id="vpce-0123456789abcdef0",
    )
    assert both["failed"] and "mutually exclusive" in both["msg"]
    assert aws.real_writes() == []


def test_a_changed_destination_fails_unless_replace(aws):
    aws.run(module.main, name="moving", network_interface_id=aws.target_enis[0])
    refused = aws.run(module.main, name="moving", network_interface_id=aws.target_enis[1])
    assert refused["failed"]
    assert "AWS cannot modify a target" in refused["msg"] and "replace=true" in refused["msg"]
    replaced = aws.run(module.main, name="moving", network_interface_id=aws.target_enis[1], replace=True)
    assert replaced["changed"] is True
    (stored,) = targets_named(aws, "moving")
    assert stored["NetworkInterfaceId"] == aws.target_enis[1]


def test_tags_are_reconciled_in_place(aws):
    created = aws.run(module.main, name="tagged", network_interface_id=aws.target_enis[0], tags={"a": "1"})
    aws.endpoint.clear_requests()
    changed = aws.run(module.main, name="tagged", tags={"b": "2"})
    assert changed["changed"] is True
    assert changed["traffic_mirror_target"]["tags"] == {"Name": "tagged", "b": "2"}
    assert sorted(aws.real_writes()) == ["CreateTags", "DeleteTags"]
    assert (
        changed["traffic_mirror_target"]["traffic_mirror_target_id"]
        == created["traffic_mirror_target"]["traffic_mirror_target_id"]
    )


def test_deleting_a_target_in_use_lists_its_sessions(aws):
    session = aws.run(
        session_module.main,
        network_interface_id=aws.enis[0],
        session_number=1,
        traffic_mirror_target_id=aws.target,
        traffic_mirror_filter_id=aws.filter,
    )["traffic_mirror_session"]
    aws.endpoint.clear_requests()
    refused = aws.run(module.main, traffic_mirror_target_id=aws.target, state="absent")
    assert refused["failed"]
    assert session["traffic_mirror_session_id"] in refused["msg"]
    assert aws.real_writes() == []


def test_delete_and_delete_again(aws):
    aws.run(module.main, name="gone", network_interface_id=aws.target_enis[0])
    assert aws.run(module.main, name="gone", state="absent")["changed"] is True
    assert targets_named(aws, "gone") == []
    assert aws.run(module.main, name="gone", state="absent")["changed"] is False


def test_bad_ids_fail_before_any_call(aws):
    result = aws.run(module.main, name="x", network_interface_id="eni-1")
    assert result["failed"] and "network_interface_id='eni-1' is not a valid id" in result["msg"]
    arn = aws.run(module.main, name="y", network_load_balancer_arn="arn:aws:s3:::bucket")
    assert arn["failed"] and "is not a Network Load Balancer ARN" in arn["msg"]
    assert aws.actions() == []


def test_info_by_id_and_by_tag(aws):
    aws.run(module.main, name="listed", network_interface_id=aws.target_enis[0])
    by_tag = aws.run(info_module.main, filters={"tag:Name": "listed"})
    (found,) = by_tag["traffic_mirror_targets"]
    assert found["tags"]["Name"] == "listed"
    by_id = aws.run(info_module.main, traffic_mirror_target_ids=[aws.target, aws.other_target])
    assert sorted(t["traffic_mirror_target_id"] for t in by_id["traffic_mirror_targets"]) == sorted(
        [aws.target, aws.other_target]
    )
