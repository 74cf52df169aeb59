"""Fault switches: throttle, server_error, drop_response_after_write, describe_lag."""

from __future__ import annotations

import pytest

from .support import NO_RETRIES, code, error_of, sessions, status


def calls(aws, action):
    return [r for r in aws.requests() if r["action"] == action]


def test_throttle_hits_the_next_n_matching_requests_only(aws, ec2):
    aws.set_faults(throttle={"count": 2, "actions": ["DescribeTrafficMirrorSessions"]})
    error = error_of(ec2.describe_traffic_mirror_sessions)
    assert (code(error), status(error)) == ("RequestLimitExceeded", 503)
    assert error.response["Error"]["Message"] == "Request limit exceeded."
    assert aws.faults() == {"throttle": {"count": 1, "actions": ["DescribeTrafficMirrorSessions"]}}
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == [], "other actions pass"
    error_of(ec2.describe_traffic_mirror_sessions)
    assert sessions(ec2) == []
    assert aws.faults() == {}
    assert [r["fault"] for r in calls(aws, "DescribeTrafficMirrorSessions")] == ["throttle", "throttle", None]


def test_throttle_without_actions_hits_any_service(aws):
    aws.set_faults(throttle={"count": 1})
    iam = aws.client("iam", config=NO_RETRIES)
    assert code(error_of(iam.list_users)) == "RequestLimitExceeded"
    assert iam.list_users()["Users"] == []


def test_botocore_retries_through_a_throttle(aws):
    aws.set_faults(throttle={"count": 1, "actions": ["DescribeTrafficMirrorFilters"]})
    retrying = aws.client("ec2")  # botocore's default retry policy
    retrying.describe_traffic_mirror_filters()
    assert [r["status"] for r in calls(aws, "DescribeTrafficMirrorFilters")] == [503, 200]


def test_server_error(aws, ec2):
    aws.set_faults(server_error={"count": 1})
    error = error_of(ec2.create_traffic_mirror_filter)
    assert (code(error), status(error)) == ("InternalError", 500)
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == [], "the failed write did nothing"


def test_drop_response_after_write_applies_the_write(aws, ec2, make_session):
    aws.set_faults(drop_response_after_write={"count": 1, "actions": ["CreateTrafficMirrorSession"]})
    error = error_of(make_session, ClientToken="retry-me")
    assert (code(error), status(error)) == ("InternalError", 500)
    (created,) = sessions(ec2)
    # the caller retries with the same token and gets the session that was made
    again = make_session(ClientToken="retry-me")
    assert again["TrafficMirrorSessionId"] == created["TrafficMirrorSessionId"]
    assert len(sessions(ec2)) == 1


def test_botocore_retry_after_dropped_response_reuses_its_token(aws, net, target_id, filter_id):
    aws.set_faults(drop_response_after_write={"count": 1})
    retrying = aws.client("ec2")
    retrying.create_traffic_mirror_session(
        NetworkInterfaceId=net["eni_ids"][0],
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert len(sessions(retrying)) == 1
    assert [r["fault"] for r in calls(aws, "CreateTrafficMirrorSession")] == [
        "drop_response_after_write",
        None,
    ]


def test_drop_response_ignores_reads_and_failed_writes(aws, ec2):
    aws.set_faults(drop_response_after_write={"count": 1})
    ec2.describe_traffic_mirror_sessions()
    error_of(ec2.delete_traffic_mirror_session, TrafficMirrorSessionId="tms-0123456789abcdef0")
    assert aws.faults()["drop_response_after_write"]["count"] == 1


def test_describe_lag(aws, ec2, make_session):
    visible_from_start = make_session(session_number=1)
    aws.set_faults(describe_lag={"calls": 2})
    lagging = make_session(session_number=2)
    assert [s["TrafficMirrorSessionId"] for s in sessions(ec2)] == [
        visible_from_start["TrafficMirrorSessionId"]
    ]
    assert code(
        error_of(
            ec2.describe_traffic_mirror_sessions, TrafficMirrorSessionIds=[lagging["TrafficMirrorSessionId"]]
        )
    ) == ("InvalidTrafficMirrorSessionId.NotFound")
    assert len(sessions(ec2)) == 2


@pytest.mark.parametrize("kind", ["target", "filter"])
def test_describe_lag_for_targets_and_filters(aws, ec2, net, kind):
    aws.set_faults(describe_lag={"calls": 1})
    if kind == "target":
        ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][0])
        describe = lambda: ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"]  # noqa: E731
    else:
        ec2.create_traffic_mirror_filter()
        describe = lambda: ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"]  # noqa: E731
    assert describe() == []
    assert len(describe()) == 1


def test_clear_and_reset_disarm_faults(aws, ec2):
    aws.set_faults(throttle={"count": 5}, describe_lag={"calls": 3})
    aws.clear_faults()
    assert aws.faults() == {}
    ec2.describe_traffic_mirror_sessions()
    aws.set_faults(server_error={"count": 5})
    aws.reset()
    assert aws.faults() == {} and aws.requests() == []
    ec2.describe_traffic_mirror_sessions()


@pytest.mark.parametrize("spec", [{"throttle": {"count": -1}}, {"flood": {}}, {"throttle": {"actions": "X"}}])
def test_invalid_fault_spec_is_rejected(aws, spec):
    with pytest.raises(RuntimeError, match="400"):
        aws.set_faults(**spec)
    assert aws.faults() == {}
