"""docs/iam-policy.json and docs/iam-policy-readonly.json list exactly the actions the modules need:
every module's whole life cycle passes with only that policy (moto's IAM enforcement in the offline
endpoint), and with any one action removed it fails with a message that names that action."""

import json
from pathlib import Path

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_filter as filter_module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_filter_info
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session as session_module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session_info
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_target as target_module
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_target_info

DOCS = Path(__file__).resolve().parents[2] / "docs"
POLICY = json.loads((DOCS / "iam-policy.json").read_text())
READONLY = json.loads((DOCS / "iam-policy-readonly.json").read_text())
ANY4 = dict(source_cidr_block="0.0.0.0/0", destination_cidr_block="0.0.0.0/0")


def actions_of(policy):
    return [action for statement in policy["Statement"] for action in statement["Action"]]


def user_with(aws, name, actions):
    iam = aws.endpoint.client("iam")
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])


def life_cycle(aws, keys):
    """Every write and read the modules make, in order; returns the first failure's message, or None."""

    def step(main, **args):
        result = aws.run(main, **dict(args, **keys))
        if result.get("failed"):
            raise RuntimeError(result["msg"])
        return result

    rule = dict(rule_number=10, rule_action="accept", **ANY4)
    try:
        made = step(
            filter_module.main,
            name="lp",
            description="d",
            tags={"a": "1"},
            ingress_rules=[rule],
            egress_rules=[],
            network_services=["amazon-dns"],
        )
        step(filter_module.main, name="lp", ingress_rules=[dict(rule, rule_action="reject")])  # modify rule
        step(filter_module.main, name="lp", ingress_rules=[], network_services=[], tags={})  # delete rule, untag
        target = step(target_module.main, name="lp", network_interface_id=aws.target_enis[0])
        session_args = dict(
            network_interface_id=aws.enis[0],
            session_number=1,
            traffic_mirror_target_id=target["traffic_mirror_target"]["traffic_mirror_target_id"],
            traffic_mirror_filter_id=made["traffic_mirror_filter"]["traffic_mirror_filter_id"],
        )
        step(session_module.main, check_mode=True, **session_args)  # dry run
        step(session_module.main, tags={"b": "2"}, **session_args)
        step(session_module.main, packet_length=64, tags={"c": "3"}, **session_args)  # modify, retag
        step(ec2_traffic_mirror_session_info.main)
        step(ec2_traffic_mirror_filter_info.main)
        step(ec2_traffic_mirror_target_info.main)
        step(session_module.main, state="absent", **session_args)
        step(target_module.main, name="lp", state="absent")
        step(filter_module.main, name="lp", state="absent")
    except RuntimeError as failure:
        return str(failure)
    return None


def test_the_policy_is_enough(aws):
    assert life_cycle(aws, user_with(aws, "full", actions_of(POLICY))) is None


@pytest.mark.parametrize("missing", actions_of(POLICY))
def test_each_action_is_needed_and_named(aws, missing):
    keys = user_with(aws, "without", [a for a in actions_of(POLICY) if a != missing])
    message = life_cycle(aws, keys)
    assert message is not None, "{0} is in the policy but nothing needed it".format(missing)
    assert missing in message


def test_the_readonly_policy_is_enough_for_an_audit(aws):
    keys = user_with(aws, "auditor", actions_of(READONLY))
    for main in (
        ec2_traffic_mirror_session_info.main,
        ec2_traffic_mirror_filter_info.main,
        ec2_traffic_mirror_target_info.main,
    ):
        assert not aws.run(main, **keys).get("failed")
    audit = aws.run(
        session_module.main,
        check_mode=True,
        check_mode_dry_run=False,
        network_interface_id=aws.enis[0],
        session_number=1,
        traffic_mirror_target_id=aws.target,
        traffic_mirror_filter_id=aws.filter,
        **keys,
    )
    assert audit["changed"] is True and not audit.get("failed")
