"""ec2_traffic_mirror_session against the offline EC2 endpoint, over HTTP.

Each test reads the endpoint's request log to prove what reached it (and what did not).
"""

import json

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session as module
from helpers.module_runner import run_module


def run(aws, check_mode=False, diff=False, **args):
    return aws.run(module.main, check_mode=check_mode, diff=diff, **args)


def session_args(aws, **extra):
    args = dict(
        network_interface_id=aws.enis[0],
        session_number=1,
        traffic_mirror_target_id=aws.target,
        traffic_mirror_filter_id=aws.filter,
    )
    args.update(extra)
    return args


def actions(aws, dry_run=None):
    return aws.actions(dry_run)


def real_writes(aws):
    return aws.real_writes()


def sessions(aws):
    return aws.ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]


def create(aws, **extra):
    result = run(aws, **session_args(aws, **extra))
    assert not result.get("failed"), result
    aws.endpoint.clear_requests()
    return result["traffic_mirror_session"]


# --- create and idempotence -------------------------------------------------------------------


def test_create_returns_the_session_in_two_calls(aws):
    result = run(aws, **session_args(aws, packet_length=128, virtual_network_id=77, description="web", tags={"a": "1"}))
    assert result["changed"] is True
    made = result["traffic_mirror_session"]
    assert made["traffic_mirror_session_id"].startswith("tms-")
    assert (made["packet_length"], made["virtual_network_id"], made["description"]) == (128, 77, "web")
    assert made["tags"] == {"a": "1"}
    assert actions(aws) == ["DescribeTrafficMirrorSessions", "CreateTrafficMirrorSession"]
    (stored,) = sessions(aws)
    assert stored["TrafficMirrorSessionId"] == made["traffic_mirror_session_id"]
    assert stored["Tags"] == [{"Key": "a", "Value": "1"}]


def test_rerun_changes_nothing_with_one_describe(aws):
    create(aws, packet_length=128, tags={"a": "1"})
    result = run(aws, **session_args(aws, packet_length=128, tags={"a": "1"}))
    assert result["changed"] is False
    assert actions(aws) == ["DescribeTrafficMirrorSessions"]


def test_omitted_vni_is_chosen_by_aws_and_never_a_diff(aws):
    made = create(aws)
    assert isinstance(made["virtual_network_id"], int)
    result = run(aws, **session_args(aws, description="later"))
    assert result["changed"] is True
    assert result["traffic_mirror_session"]["virtual_network_id"] == made["virtual_network_id"]
    assert "VirtualNetworkId" not in json.dumps(aws.endpoint.requests())  # never sent


def test_create_requires_target_and_filter(aws):
    result = run(aws, network_interface_id=aws.enis[0], session_number=1)
    assert result["failed"]
    assert "requires traffic_mirror_target_id and traffic_mirror_filter_id" in result["msg"]
    assert real_writes(aws) == []


# --- check mode -------------------------------------------------------------------------------


def test_check_mode_create_is_a_dry_run(aws):
    result = run(aws, check_mode=True, diff=True, **session_args(aws, packet_length=64))
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["packet_length"] == 64
    assert sessions(aws) == []
    assert actions(aws, dry_run=True) == ["CreateTrafficMirrorSession"]
    assert real_writes(aws) == []


def test_check_mode_modify_and_delete_leave_the_backend_untouched(aws):
    made = create(aws, packet_length=100, tags={"keep": "x"})
    before = sessions(aws)
    aws.endpoint.clear_requests()

    modify = run(aws, check_mode=True, diff=True, **session_args(aws, packet_length=200, tags={"new": "y"}))
    assert modify["changed"] is True
    assert modify["diff"]["before"]["packet_length"] == 100
    assert modify["diff"]["after"]["packet_length"] == 200
    assert modify["diff"]["after"]["tags"] == {"new": "y"}
    assert sorted(actions(aws, dry_run=True)) == ["CreateTags", "DeleteTags", "ModifyTrafficMirrorSession"]

    delete = run(aws, check_mode=True, traffic_mirror_session_id=made["traffic_mirror_session_id"], state="absent")
    assert delete["changed"] is True
    assert "DeleteTrafficMirrorSession" in actions(aws, dry_run=True)
    assert real_writes(aws) == []
    assert sessions(aws) == before


def test_check_mode_without_dry_run_only_reads(aws):
    result = run(aws, check_mode=True, check_mode_dry_run=False, **session_args(aws))
    assert result["changed"] is True
    assert actions(aws) == ["DescribeTrafficMirrorSessions"]


def _user_keys(aws, allowed_actions):
    iam = aws.endpoint.client("iam")
    iam.create_user(UserName="auditor")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed_actions, "Resource": "*"}]}
    iam.put_user_policy(UserName="auditor", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    return dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])


def test_denied_dry_run_names_the_missing_action(aws):
    keys = _user_keys(aws, ["ec2:Describe*"])
    result = run_module(module.main, dict(aws.connection, **keys, **session_args(aws)), check_mode=True)
    assert result["failed"]
    assert "ec2:CreateTrafficMirrorSession" in result["msg"]
    assert sessions(aws) == []


def test_allowed_dry_run_passes_for_a_user_with_the_action(aws):
    keys = _user_keys(aws, ["ec2:Describe*", "ec2:CreateTrafficMirrorSession", "ec2:CreateTags"])
    result = run_module(
        module.main, dict(aws.connection, **keys, **session_args(aws, tags={"a": "b"})), check_mode=True
    )
    assert result["changed"] is True, result
    assert sessions(aws) == []


# --- reconciling an existing session ----------------------------------------------------------


def test_tags_add_change_purge_and_keep(aws):
    create(aws, tags={"a": "1", "b": "2"})
    changed = run(aws, **session_args(aws, tags={"a": "9", "c": "3"}, purge_tags=False))
    assert changed["traffic_mirror_session"]["tags"] == {"a": "9", "b": "2", "c": "3"}
    assert real_writes(aws) == ["CreateTags"]
    aws.endpoint.clear_requests()

    purged = run(aws, **session_args(aws, tags={"c": "3"}))
    assert purged["traffic_mirror_session"]["tags"] == {"c": "3"}
    assert real_writes(aws) == ["DeleteTags"]
    assert sessions(aws)[0]["Tags"] == [{"Key": "c", "Value": "3"}]

    kept = run(aws, **session_args(aws))  # tags omitted: left alone
    assert kept["changed"] is False


def test_packet_length_set_changed_and_back_to_whole(aws):
    made = create(aws)
    assert made.get("packet_length") is None
    assert run(aws, **session_args(aws, packet_length=256))["traffic_mirror_session"]["packet_length"] == 256
    assert run(aws, **session_args(aws, packet_length=512))["traffic_mirror_session"]["packet_length"] == 512
    aws.endpoint.clear_requests()
    whole = run(aws, **session_args(aws, packet_length=0))
    assert whole["changed"] is True
    assert "PacketLength" not in sessions(aws)[0]
    assert run(aws, **session_args(aws, packet_length=0))["changed"] is False


def test_description_removed_with_empty_string(aws):
    create(aws, description="to remove")
    assert run(aws, **session_args(aws, description=""))["changed"] is True
    assert not sessions(aws)[0].get("Description")
    assert run(aws, **session_args(aws, description=""))["changed"] is False


def test_target_and_filter_swap_in_place_in_one_modify(aws):
    made = create(aws)
    result = run(
        aws, **session_args(aws, traffic_mirror_target_id=aws.other_target, traffic_mirror_filter_id=aws.other_filter)
    )
    assert result["changed"] is True
    assert result["traffic_mirror_session"]["traffic_mirror_session_id"] == made["traffic_mirror_session_id"]
    assert real_writes(aws) == ["ModifyTrafficMirrorSession"]
    (stored,) = sessions(aws)
    assert (stored["TrafficMirrorTargetId"], stored["TrafficMirrorFilterId"]) == (aws.other_target, aws.other_filter)


def test_found_by_id_the_session_number_changes(aws):
    made = create(aws)
    result = run(aws, traffic_mirror_session_id=made["traffic_mirror_session_id"], session_number=5)
    assert result["changed"] is True
    assert sessions(aws)[0]["SessionNumber"] == 5


def test_a_session_cannot_move_to_another_interface(aws):
    made = create(aws)
    result = run(aws, traffic_mirror_session_id=made["traffic_mirror_session_id"], network_interface_id=aws.enis[1])
    assert result["failed"]
    assert "cannot move" in result["msg"]
    assert real_writes(aws) == []


# --- delete -----------------------------------------------------------------------------------


def test_delete_and_delete_again(aws):
    create(aws)
    assert run(aws, state="absent", network_interface_id=aws.enis[0], session_number=1)["changed"] is True
    assert sessions(aws) == []
    again = run(aws, state="absent", network_interface_id=aws.enis[0], session_number=1)
    assert again["changed"] is False
    assert real_writes(aws) == ["DeleteTrafficMirrorSession"]


def test_delete_by_unknown_id_is_unchanged(aws):
    result = run(aws, state="absent", traffic_mirror_session_id="tms-0123456789abcdef0")
    assert result["changed"] is False and not result.get("failed")


# --- bad input: a clear message and nothing sent ----------------------------------------------

BAD_INPUTS = [
    ({"session_number": 0}, "session_number=0 is out of range: allowed 1-32766"),
    ({"session_number": 32767}, "session_number=32767 is out of range: allowed 1-32766"),
    ({"packet_length": 8501}, "packet_length=8501 is out of range: allowed 1-8500, or 0 for the whole packet"),
    ({"packet_length": -1}, "packet_length=-1 is out of range"),
    ({"virtual_network_id": 16777216}, "virtual_network_id=16777216 is out of range: allowed 0-16777215"),
    ({"network_interface_id": "eni-xyz"}, "network_interface_id='eni-xyz' is not a valid id: expected 'eni-'"),
    (
        {"traffic_mirror_target_id": "tmf-0123456789abcdef0"},
        "traffic_mirror_target_id='tmf-0123456789abcdef0' is not a valid id: expected 'tmt-'",
    ),
    ({"traffic_mirror_filter_id": "filter"}, "traffic_mirror_filter_id='filter' is not a valid id: expected 'tmf-'"),
    ({"traffic_mirror_session_id": "tms-1"}, "traffic_mirror_session_id='tms-1' is not a valid id"),
    ({"client_token": "x" * 65}, "client_token='" + "x" * 65 + "' is not allowed: 1-64 printable ASCII characters"),
    ({"tags": {"aws:owner": "me"}}, "tags key 'aws:owner' is not allowed"),
    (
        {"session_number": None},
        "traffic_mirror_session_id, or network_interface_id together with session_number, is required",
    ),
    ({"session_number": "one"}, "session_number"),
    ({"state": "gone"}, "state"),
]


@pytest.mark.parametrize("override, message", BAD_INPUTS, ids=[repr(override) for override, _message in BAD_INPUTS])
def test_bad_input_fails_before_any_call(aws, override, message):
    args = session_args(aws)
    args.update(override)
    args = {k: v for k, v in args.items() if v is not None}
    result = run(aws, **args)
    assert result["failed"], result
    assert message in result["msg"]
    assert actions(aws) == []


def test_unknown_target_is_a_clear_aws_error(aws):
    result = run(aws, **session_args(aws, traffic_mirror_target_id="tmt-0123456789abcdef0"))
    assert result["failed"]
    assert "the target does not exist (check the id and the region): An error occurred" in result["msg"]
    assert ".:" not in result["msg"]  # no doubled punctuation before amazon.aws's appended AWS error (#13)
    assert sessions(aws) == []


def test_fourth_session_on_an_interface_says_what_to_do(aws):
    for number in (1, 2, 3):
        create(aws, session_number=number)
    result = run(aws, **session_args(aws, session_number=4))
    assert result["failed"]
    assert "maximum of 3 traffic mirror sessions" in result["msg"]
    assert "mirror_agent" in result["msg"]


def test_reused_client_token_with_other_parameters(aws):
    create(aws, client_token="token-1")
    result = run(aws, **session_args(aws, network_interface_id=aws.enis[1], client_token="token-1"))
    assert result["failed"]
    assert "client token was already used" in result["msg"]


# --- faults: retries, lost responses, eventual consistency ------------------------------------


@pytest.fixture
def module_retries_only(monkeypatch):
    """botocore makes one attempt, so every retry seen is the module's AWSRetry; its sleeps are skipped."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    slept = []
    monkeypatch.setattr("ansible_collections.amazon.aws.plugins.module_utils.cloud.time.sleep", slept.append)
    return slept


def test_throttling_and_server_errors_are_retried(aws, module_retries_only):
    aws.endpoint.set_faults(
        throttle={"count": 3, "actions": ["CreateTrafficMirrorSession"]},
        server_error={"count": 2, "actions": ["DescribeTrafficMirrorSessions"]},
    )
    result = run(aws, **session_args(aws))
    made = actions(aws)
    assert result["changed"] is True, result
    assert made.count("CreateTrafficMirrorSession") == 4
    assert made.count("DescribeTrafficMirrorSessions") == 3
    assert len(sessions(aws)) == 1
    assert len(module_retries_only) == 5  # one jittered back-off sleep per retry
    assert len(set(module_retries_only)) > 1


def test_lost_create_response_is_retried_with_the_same_token(aws, module_retries_only):
    aws.endpoint.set_faults(drop_response_after_write={"count": 1, "actions": ["CreateTrafficMirrorSession"]})
    result = run(aws, **session_args(aws))
    assert result["changed"] is True, result
    assert actions(aws).count("CreateTrafficMirrorSession") == 2
    (stored,) = sessions(aws)
    assert stored["TrafficMirrorSessionId"] == result["traffic_mirror_session"]["traffic_mirror_session_id"]


def test_lost_create_response_then_rerun_makes_one_session(aws, module_retries_only):
    aws.endpoint.set_faults(drop_response_after_write={"count": 50, "actions": ["CreateTrafficMirrorSession"]})
    first = run(aws, **session_args(aws))
    assert first.get("failed"), "every create response was dropped, the task must fail"
    aws.endpoint.clear_faults()
    second = run(aws, **session_args(aws))
    assert not second.get("failed"), second
    assert len(sessions(aws)) == 1


def test_describe_lag_after_create_does_not_duplicate(aws):
    aws.endpoint.set_faults(describe_lag={"calls": 1})
    first = run(aws, **session_args(aws))
    second = run(aws, **session_args(aws))  # its Describe does not show the new session yet
    # The re-run did not see the session and created again, with the same derived token...
    assert actions(aws).count("CreateTrafficMirrorSession") == 2
    # ...so EC2 answered with the session it had already made.
    assert (
        second["traffic_mirror_session"]["traffic_mirror_session_id"]
        == first["traffic_mirror_session"]["traffic_mirror_session_id"]
    )
    assert len(sessions(aws)) == 1


def test_two_concurrent_runs_make_one_session(aws):
    """Two ansible processes converge the same session at once: both see none (Describe lags behind
    the first create), both create with the same derived client token, and EC2 answers the second
    with the first one's session."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    args = dict(session_args(aws), **aws.connection)
    aws.endpoint.set_faults(describe_lag={"calls": 1})
    command = [
        str(Path(sys.executable).parent / "ansible"),
        "localhost",
        "-c",
        "local",
        "-m",
        "netmirror.traffic_mirror.ec2_traffic_mirror_session",
        "-a",
        json.dumps(args),
    ]
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false")
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _run in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert actions(aws).count("CreateTrafficMirrorSession") == 2
    seen = [sessions(aws) for _describe in range(2)]  # the lag may still hide it from the first Describe
    assert len(seen[-1]) == 1


def test_whole_packet_on_a_load_balancer_target_is_stable(aws):
    """AWS gives sessions to an NLB target packet length 8500 by default (and again after RemoveFields):
    packet_length=0 must then be no change, at the cost of one Describe of the target."""
    nlb_arn = aws.endpoint.create_network(eni_count=1)["nlb_arn"]
    nlb_target = aws.ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb_arn)["TrafficMirrorTarget"]
    made = create(aws, traffic_mirror_target_id=nlb_target["TrafficMirrorTargetId"])
    assert made["packet_length"] == 8500
    again = run(aws, **session_args(aws, traffic_mirror_target_id=nlb_target["TrafficMirrorTargetId"], packet_length=0))
    assert again["changed"] is False
    assert actions(aws) == ["DescribeTrafficMirrorSessions", "DescribeTrafficMirrorTargets"]
    aws.endpoint.clear_requests()
    # On an ENI target, 8500 is a real truncation: packet_length=0 removes it.
    run(aws, **session_args(aws, traffic_mirror_target_id=nlb_target["TrafficMirrorTargetId"], packet_length=100))
    moved = run(aws, **session_args(aws, packet_length=8500))
    assert moved["traffic_mirror_session"]["packet_length"] == 8500
    whole = run(aws, **session_args(aws, packet_length=0))
    assert whole["changed"] is True and "PacketLength" not in sessions(aws)[0]
