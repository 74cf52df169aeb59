"""DryRun on every traffic-mirroring write and on CreateTags/DeleteTags; IAM enforcement."""

from __future__ import annotations

import json

import pytest

from .support import NO_RETRIES, code, error_of, iam_user_client, sessions, status

RULE = {
    "TrafficDirection": "ingress",
    "RuleNumber": 1,
    "RuleAction": "accept",
    "SourceCidrBlock": "0.0.0.0/0",
    "DestinationCidrBlock": "0.0.0.0/0",
}


@pytest.fixture
def world(ec2, net, make_session, filter_id, target_id):
    """One of everything, plus an unused target and filter that could be deleted."""
    session = make_session(session_number=1)
    rule = ec2.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=filter_id, **RULE)[
        "TrafficMirrorFilterRule"
    ]
    spare_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][2])[
        "TrafficMirrorTarget"
    ]
    spare_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    return {
        "net": net,
        "session_id": session["TrafficMirrorSessionId"],
        "target_id": target_id,
        "filter_id": filter_id,
        "rule_id": rule["TrafficMirrorFilterRuleId"],
        "spare_target_id": spare_target["TrafficMirrorTargetId"],
        "spare_filter_id": spare_filter["TrafficMirrorFilterId"],
    }


# (operation, parameters built from `world`)
WRITES = [
    (
        "create_traffic_mirror_session",
        lambda w: {
            "NetworkInterfaceId": w["net"]["eni_ids"][1],
            "TrafficMirrorTargetId": w["target_id"],
            "TrafficMirrorFilterId": w["filter_id"],
            "SessionNumber": 1,
        },
    ),
    (
        "modify_traffic_mirror_session",
        lambda w: {
            "TrafficMirrorSessionId": w["session_id"],
            "PacketLength": 64,
            "RemoveFields": ["virtual-network-id"],
        },
    ),
    ("delete_traffic_mirror_session", lambda w: {"TrafficMirrorSessionId": w["session_id"]}),
    ("create_traffic_mirror_target", lambda w: {"NetworkInterfaceId": w["net"]["eni_ids"][1]}),
    ("delete_traffic_mirror_target", lambda w: {"TrafficMirrorTargetId": w["spare_target_id"]}),
    ("create_traffic_mirror_filter", lambda w: {"Description": "new"}),
    ("delete_traffic_mirror_filter", lambda w: {"TrafficMirrorFilterId": w["spare_filter_id"]}),
    (
        "create_traffic_mirror_filter_rule",
        lambda w: {"TrafficMirrorFilterId": w["filter_id"], **RULE, "RuleNumber": 2},
    ),
    (
        "modify_traffic_mirror_filter_rule",
        lambda w: {"TrafficMirrorFilterRuleId": w["rule_id"], "RuleNumber": 3},
    ),
    ("delete_traffic_mirror_filter_rule", lambda w: {"TrafficMirrorFilterRuleId": w["rule_id"]}),
    (
        "modify_traffic_mirror_filter_network_services",
        lambda w: {"TrafficMirrorFilterId": w["filter_id"], "AddNetworkServices": ["amazon-dns"]},
    ),
    ("create_tags", lambda w: {"Resources": [w["session_id"]], "Tags": [{"Key": "k", "Value": "v"}]}),
    ("delete_tags", lambda w: {"Resources": [w["session_id"]], "Tags": [{"Key": "k"}]}),
]


def snapshot(ec2):
    return (
        ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"],
        ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"],
        ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"],
        ec2.describe_traffic_mirror_filter_rules()["TrafficMirrorFilterRules"],
        ec2.describe_tags()["Tags"],
    )


@pytest.mark.parametrize(("operation", "params"), WRITES, ids=[w[0] for w in WRITES])
def test_dry_run_answers_412_and_changes_nothing(ec2, world, operation, params):
    before = snapshot(ec2)
    error = error_of(getattr(ec2, operation), DryRun=True, **params(world))
    assert (code(error), status(error)) == ("DryRunOperation", 412)
    assert error.response["Error"]["Message"] == "Request would have succeeded, but DryRun flag is set."
    assert snapshot(ec2) == before


def test_dry_run_create_leaves_describe_empty(ec2, net, target_id, filter_id):
    error_of(
        ec2.create_traffic_mirror_session,
        DryRun=True,
        NetworkInterfaceId=net["eni_ids"][0],
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions(ec2) == []


def test_denied_dry_run_is_unauthorized_and_allowed_dry_run_is_dry_run(aws, world):
    def create(client):
        return client.create_traffic_mirror_filter(DryRun=True, Description="x")

    reader = iam_user_client(aws, "reader", ["ec2:Describe*"])
    error = error_of(create, reader)
    assert (code(error), status(error)) == ("UnauthorizedOperation", 403)
    assert error.response["Error"]["Message"] == (
        "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/reader "
        "is not authorized to perform: ec2:CreateTrafficMirrorFilter"
    )

    writer = iam_user_client(aws, "writer", ["ec2:CreateTrafficMirrorFilter"])
    error = error_of(create, writer)
    assert (code(error), status(error)) == ("DryRunOperation", 412)


def test_iam_user_is_enforced_without_dry_run_too(aws, ec2, world):
    before = snapshot(ec2)
    reader = iam_user_client(aws, "reader", ["ec2:DescribeTrafficMirrorSessions"])
    assert len(sessions(reader)) == 1
    error = error_of(reader.delete_traffic_mirror_session, TrafficMirrorSessionId=world["session_id"])
    assert (code(error), status(error)) == ("UnauthorizedOperation", 403)
    assert "ec2:DeleteTrafficMirrorSession" in error.response["Error"]["Message"]
    error = error_of(reader.describe_traffic_mirror_targets)
    assert code(error) == "UnauthorizedOperation"
    assert snapshot(ec2) == before


def test_explicit_deny_wins(aws, ec2):
    iam = aws.client("iam")
    client = iam_user_client(aws, "denied", ["ec2:*"])
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "ec2:CreateTrafficMirrorFilter", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="denied", PolicyName="deny", PolicyDocument=json.dumps(deny))
    assert code(error_of(client.create_traffic_mirror_filter)) == "UnauthorizedOperation"
    assert client.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []


def test_unknown_keys_are_the_account_root(aws):
    stranger = aws.client("ec2", aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="x")
    assert stranger.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"].startswith(
        "tmf-"
    )


def test_assumed_role_sessions_are_enforced(aws):
    iam, sts = aws.client("iam"), aws.client("sts")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="mirror-reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="mirror-reader", PolicyName="read", PolicyDocument=json.dumps(allow))
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="tester")["Credentials"]
    client = aws.client(
        "ec2",
        aws_access_key_id=credentials["AccessKeyId"],
        config=NO_RETRIES,
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert client.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []
    error = error_of(client.create_traffic_mirror_filter, DryRun=True)
    assert (code(error), status(error)) == ("UnauthorizedOperation", 403)
    assert "assumed-role/mirror-reader/tester" in error.response["Error"]["Message"]


def test_iam_user_is_enforced_on_other_services_in_their_own_style(aws):
    iam = aws.client("iam")
    iam_user_client(aws, "ec2-only", ["ec2:*"])
    key = iam.create_access_key(UserName="ec2-only")["AccessKey"]
    keys = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    assert code(error_of(aws.client("elbv2", **keys).describe_load_balancers)) == "AccessDenied"
    assert code(error_of(aws.client("logs", **keys).describe_log_groups)) == "AccessDeniedException"
