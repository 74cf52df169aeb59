"""Describe*: every documented filter, MaxResults bounds, NextToken paging."""

from __future__ import annotations

import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import NO_RETRIES, code, error_of, sessions


@pytest.fixture
def two_sessions(ec2, net, make_session, filter_id):
    other_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][2])[
        "TrafficMirrorTarget"
    ]["TrafficMirrorTargetId"]
    other_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    first = make_session(session_number=1, PacketLength=100, VirtualNetworkId=11, Description="alpha one")
    second = make_session(
        session_number=2,
        eni=net["eni_ids"][1],
        VirtualNetworkId=22,
        Description="beta",
        TrafficMirrorTargetId=other_target,
        TrafficMirrorFilterId=other_filter,
    )
    return first, second


@pytest.mark.parametrize(
    ("name", "pick"),
    [
        ("description", lambda s: s["Description"]),
        ("network-interface-id", lambda s: s["NetworkInterfaceId"]),
        ("session-number", lambda s: str(s["SessionNumber"])),
        ("traffic-mirror-filter-id", lambda s: s["TrafficMirrorFilterId"]),
        ("traffic-mirror-session-id", lambda s: s["TrafficMirrorSessionId"]),
        ("traffic-mirror-target-id", lambda s: s["TrafficMirrorTargetId"]),
        ("virtual-network-id", lambda s: str(s["VirtualNetworkId"])),
    ],
)
def test_each_session_filter_selects_exactly_its_session(ec2, two_sessions, name, pick):
    for session in two_sessions:
        found = sessions(ec2, Filters=[{"Name": name, "Values": [pick(session)]}])
        assert [s["TrafficMirrorSessionId"] for s in found] == [session["TrafficMirrorSessionId"]]


def test_packet_length_owner_and_wildcard_filters(ec2, two_sessions):
    first, _ = two_sessions
    assert [
        s["TrafficMirrorSessionId"]
        for s in sessions(ec2, Filters=[{"Name": "packet-length", "Values": ["100"]}])
    ] == [first["TrafficMirrorSessionId"]]
    assert len(sessions(ec2, Filters=[{"Name": "owner-id", "Values": ["123456789012"]}])) == 2
    assert sessions(ec2, Filters=[{"Name": "owner-id", "Values": ["999999999999"]}]) == []
    assert len(sessions(ec2, Filters=[{"Name": "description", "Values": ["alpha*"]}])) == 1
    assert sessions(ec2, Filters=[{"Name": "description", "Values": ["alpha"]}]) == []
    both = [{"Name": "session-number", "Values": ["1"]}, {"Name": "virtual-network-id", "Values": ["22"]}]
    assert sessions(ec2, Filters=both) == [], "different filters are AND-ed"


def test_unknown_filter_name_is_invalid(ec2):
    error = error_of(ec2.describe_traffic_mirror_sessions, Filters=[{"Name": "colour", "Values": ["x"]}])
    assert code(error) == "InvalidParameterValue"


@pytest.mark.parametrize("kind", ["sessions", "targets", "filters"])
def test_more_than_200_filter_values_in_one_call_is_filter_limit_exceeded(ec2, kind):
    """As EC2: at most 200 filter values in all, over every filter of the call."""
    call = getattr(ec2, "describe_traffic_mirror_" + kind)
    values = [f"x{n}" for n in range(199)]
    call(Filters=[{"Name": "description", "Values": values}, {"Name": "tag-key", "Values": ["k"]}])
    too_many = [{"Name": "description", "Values": [*values, "y"]}, {"Name": "tag-key", "Values": ["k"]}]
    error = error_of(call, Filters=too_many)
    assert code(error) == "FilterLimitExceeded"
    assert "200" in str(error)


def test_target_filters(ec2, full_net):
    net = full_net
    eni = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][0], Description="to eni")[
        "TrafficMirrorTarget"
    ]
    nlb = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=net["nlb_arn"])["TrafficMirrorTarget"]

    def found(name, value):
        result = ec2.describe_traffic_mirror_targets(Filters=[{"Name": name, "Values": [value]}])
        return [t["TrafficMirrorTargetId"] for t in result["TrafficMirrorTargets"]]

    assert found("description", "to eni") == [eni["TrafficMirrorTargetId"]]
    assert found("network-interface-id", net["eni_ids"][0]) == [eni["TrafficMirrorTargetId"]]
    assert found("network-load-balancer-arn", net["nlb_arn"]) == [nlb["TrafficMirrorTargetId"]]
    assert found("traffic-mirror-target-id", nlb["TrafficMirrorTargetId"]) == [nlb["TrafficMirrorTargetId"]]
    assert len(found("owner-id", "123456789012")) == 2


def test_filter_filters(ec2):
    one = ec2.create_traffic_mirror_filter(Description="one")["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    ec2.create_traffic_mirror_filter(Description="two")

    def found(name, value):
        result = ec2.describe_traffic_mirror_filters(Filters=[{"Name": name, "Values": [value]}])
        return [f["TrafficMirrorFilterId"] for f in result["TrafficMirrorFilters"]]

    assert found("description", "one") == [one]
    assert found("traffic-mirror-filter-id", one) == [one]


@pytest.mark.parametrize("max_results", [4, 1001])
def test_max_results_outside_5_to_1000_is_invalid(aws, max_results):
    # botocore checks the bounds too: switch its check off to reach the server
    unchecked = aws.client("ec2", config=NO_RETRIES.merge(Config(parameter_validation=False)))
    error = error_of(unchecked.describe_traffic_mirror_sessions, MaxResults=max_results)
    assert code(error) == "InvalidParameterValue"
    assert "MaxResults" in error.response["Error"]["Message"]


def test_paging_twelve_sessions_five_at_a_time_returns_each_once(ec2, net, make_session):
    created = {
        make_session(session_number=n, eni=eni)["TrafficMirrorSessionId"]
        for eni in net["eni_ids"]
        for n in (1, 2, 3)
    }
    assert len(created) == 12
    pages = list(
        ec2.get_paginator("describe_traffic_mirror_sessions").paginate(PaginationConfig={"PageSize": 5})
    )
    assert [len(p["TrafficMirrorSessions"]) for p in pages] == [5, 5, 2]
    seen = [s["TrafficMirrorSessionId"] for p in pages for s in p["TrafficMirrorSessions"]]
    assert sorted(seen) == sorted(created)


def test_paging_survives_a_delete_between_pages(ec2, net, make_session):
    ids = [
        make_session(session_number=n, eni=eni)["TrafficMirrorSessionId"]
        for eni in net["eni_ids"][:3]
        for n in (1, 2, 3)
    ]
    first = ec2.describe_traffic_mirror_sessions(MaxResults=5)
    ec2.delete_traffic_mirror_session(
        TrafficMirrorSessionId=first["TrafficMirrorSessions"][0]["TrafficMirrorSessionId"]
    )
    rest = ec2.describe_traffic_mirror_sessions(MaxResults=5, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    seen = [
        s["TrafficMirrorSessionId"] for s in first["TrafficMirrorSessions"] + rest["TrafficMirrorSessions"]
    ]
    assert seen == ids


def test_filter_and_target_paginators(ec2, net):
    for n in range(7):
        ec2.create_traffic_mirror_filter(Description=f"f{n}")
        ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][n % 4])
    for operation, key in [
        ("describe_traffic_mirror_filters", "TrafficMirrorFilters"),
        ("describe_traffic_mirror_targets", "TrafficMirrorTargets"),
    ]:
        pages = list(ec2.get_paginator(operation).paginate(PaginationConfig={"PageSize": 5}))
        assert [len(p[key]) for p in pages] == [5, 2]


def test_bad_next_token(ec2):
    error = error_of(ec2.describe_traffic_mirror_sessions, NextToken="garbage")
    assert code(error) == "InvalidPaginationToken"


def test_unknown_ids_in_describe_lists(ec2, filter_id):
    error = error_of(
        ec2.describe_traffic_mirror_filters, TrafficMirrorFilterIds=[filter_id, "tmf-0123456789abcdef0"]
    )
    assert code(error) == "InvalidTrafficMirrorFilterId.NotFound"
    assert "tmf-0123456789abcdef0" in error.response["Error"]["Message"]
    error = error_of(ec2.describe_traffic_mirror_targets, TrafficMirrorTargetIds=["tmt-0123456789abcdef0"])
    assert code(error) == "InvalidTrafficMirrorTargetId.NotFound"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=9), page_size=st.integers(min_value=5, max_value=7))
def test_paging_returns_every_filter_exactly_once(aws, count, page_size):
    aws.reset()
    client = aws.client("ec2", config=NO_RETRIES)
    create = client.create_traffic_mirror_filter
    created = [create()["TrafficMirrorFilter"]["TrafficMirrorFilterId"] for _ in range(count)]
    paginator = client.get_paginator("describe_traffic_mirror_filters")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": page_size}))
    seen = [f["TrafficMirrorFilterId"] for p in pages for f in p["TrafficMirrorFilters"]]
    assert seen == created
    assert all(len(p["TrafficMirrorFilters"]) <= page_size for p in pages)
