"""Sessions: validation, quotas, RemoveFields, Modify, ClientToken, VNI, ids."""

from __future__ import annotations

import re

import pytest

from .support import code, error_of, sessions


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("SessionNumber", 0),
        ("SessionNumber", 32767),
        ("PacketLength", 0),
        ("PacketLength", 8501),
        ("VirtualNetworkId", -1),
        ("VirtualNetworkId", 16777216),
    ],
)
def test_out_of_range_values_are_rejected_naming_parameter_value_and_range(ec2, make_session, param, value):
    kw = {"session_number": value} if param == "SessionNumber" else {param: value}
    error = error_of(make_session, **kw)
    assert code(error) == "InvalidParameterValue"
    message = error.response["Error"]["Message"]
    assert param in message and str(value) in message and re.search(r"between \d+ and \d+", message)
    assert sessions(ec2) == []


@pytest.mark.parametrize(
    ("param", "value"), [("SessionNumber", 32766), ("PacketLength", 8500), ("VirtualNetworkId", 0)]
)
def test_boundary_values_are_accepted(make_session, param, value):
    kw = {"session_number": value} if param == "SessionNumber" else {param: value}
    session = make_session(**kw)
    assert session[param] == value


def test_created_session_has_aws_shape(make_session, net, target_id, filter_id):
    session = make_session(session_number=7, PacketLength=128, VirtualNetworkId=42, Description="d")
    assert re.fullmatch(r"tms-[0-9a-f]{17}", session["TrafficMirrorSessionId"])
    assert session["OwnerId"] == "123456789012"
    assert (
        session["NetworkInterfaceId"],
        session["TrafficMirrorTargetId"],
        session["TrafficMirrorFilterId"],
    ) == (net["eni_ids"][0], target_id, filter_id)
    assert (session["SessionNumber"], session["PacketLength"], session["VirtualNetworkId"]) == (7, 128, 42)
    assert "PacketLength" not in make_session(session_number=8), "omitted = whole packet = absent"


@pytest.mark.parametrize(
    ("param", "bad_id", "expected"),
    [
        ("NetworkInterfaceId", "eni-0123456789abcdef0", "InvalidNetworkInterfaceID.NotFound"),
        ("TrafficMirrorTargetId", "tmt-0123456789abcdef0", "InvalidTrafficMirrorTargetId.NotFound"),
        ("TrafficMirrorFilterId", "tmf-0123456789abcdef0", "InvalidTrafficMirrorFilterId.NotFound"),
        ("TrafficMirrorTargetId", "tmf-0123456789abcdef0", "InvalidParameterValue"),
        ("TrafficMirrorFilterId", "filter-1", "InvalidParameterValue"),
        ("NetworkInterfaceId", "nic-1", "InvalidNetworkInterfaceID.Malformed"),
    ],
)
def test_unknown_or_malformed_ids_are_rejected(ec2, make_session, param, bad_id, expected):
    key = {"NetworkInterfaceId": "eni"}.get(param, param)
    kw = {"eni": bad_id} if key == "eni" else {param: bad_id}
    assert code(error_of(make_session, **kw)) == expected
    assert sessions(ec2) == []


def test_unknown_session_ids_for_modify_delete_describe(ec2):
    unknown = "tms-0123456789abcdef0"
    for call, kw in [
        (ec2.modify_traffic_mirror_session, {"TrafficMirrorSessionId": unknown, "Description": "x"}),
        (ec2.delete_traffic_mirror_session, {"TrafficMirrorSessionId": unknown}),
        (ec2.describe_traffic_mirror_sessions, {"TrafficMirrorSessionIds": [unknown]}),
    ]:
        assert code(error_of(call, **kw)) == "InvalidTrafficMirrorSessionId.NotFound"
    assert code(error_of(ec2.delete_traffic_mirror_session, TrafficMirrorSessionId="sess-1")) == (
        "InvalidParameterValue"
    )


def test_three_sessions_per_source_interface(ec2, make_session):
    for number in (1, 2, 3):
        make_session(session_number=number)
    error = error_of(make_session, session_number=4)
    assert code(error) == "TrafficMirrorSessionsPerInterfaceLimitExceeded"
    assert len(sessions(ec2)) == 3


def test_duplicate_session_number_on_one_interface_is_invalid_parameter_value(ec2, net, make_session):
    make_session(session_number=5)
    error = error_of(make_session, session_number=5)
    assert code(error) == "InvalidParameterValue"
    assert (
        "5" in error.response["Error"]["Message"] and net["eni_ids"][0] in error.response["Error"]["Message"]
    )
    make_session(session_number=5, eni=net["eni_ids"][1])  # another ENI may use it
    assert len(sessions(ec2)) == 2


def test_ten_sources_per_interface_target(aws, ec2, target_id, filter_id):
    net = aws.create_network(eni_count=11)

    def create(eni, number=1):
        return ec2.create_traffic_mirror_session(
            NetworkInterfaceId=eni,
            TrafficMirrorTargetId=target_id,
            TrafficMirrorFilterId=filter_id,
            SessionNumber=number,
        )

    for eni in net["eni_ids"][:10]:
        create(eni)
    create(net["eni_ids"][0], number=2)  # a known source may add sessions
    error = error_of(create, net["eni_ids"][10])
    assert code(error) == "TrafficMirrorSourcesPerTargetLimitExceeded"


def test_nlb_target_defaults_packet_length_to_8500(ec2, full_net, filter_id):
    net = full_net
    nlb_target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=net["nlb_arn"])
    session = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=net["eni_ids"][0],
        SessionNumber=1,
        TrafficMirrorFilterId=filter_id,
        TrafficMirrorTargetId=nlb_target["TrafficMirrorTarget"]["TrafficMirrorTargetId"],
    )["TrafficMirrorSession"]
    assert session["PacketLength"] == 8500


def test_random_vni_is_nonzero_unique_and_in_range(ec2, net, make_session):
    vnis = [
        make_session(session_number=n, eni=eni)["VirtualNetworkId"]
        for eni in net["eni_ids"][:3]
        for n in (1, 2, 3)
    ]
    assert len(set(vnis)) == len(vnis)
    assert all(1 <= v <= 16777215 for v in vnis)


def test_modify_changes_fields_in_place(ec2, net, make_session, filter_id):
    session = make_session(session_number=1, PacketLength=100, VirtualNetworkId=7, Description="old")
    other_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][2])[
        "TrafficMirrorTarget"
    ]["TrafficMirrorTargetId"]
    other_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    modified = ec2.modify_traffic_mirror_session(
        TrafficMirrorSessionId=session["TrafficMirrorSessionId"],
        TrafficMirrorTargetId=other_target,
        TrafficMirrorFilterId=other_filter,
        PacketLength=200,
        SessionNumber=9,
        VirtualNetworkId=8,
        Description="new",
    )["TrafficMirrorSession"]
    (described,) = sessions(ec2)
    for result in (modified, described):
        assert result["TrafficMirrorSessionId"] == session["TrafficMirrorSessionId"]
        assert result["NetworkInterfaceId"] == net["eni_ids"][0]
        assert (result["TrafficMirrorTargetId"], result["TrafficMirrorFilterId"]) == (
            other_target,
            other_filter,
        )
        assert (result["PacketLength"], result["SessionNumber"], result["VirtualNetworkId"]) == (200, 9, 8)
        assert result["Description"] == "new"


def test_modify_validates_before_changing(ec2, make_session):
    session = make_session(session_number=1, PacketLength=100)
    make_session(session_number=2)
    sid = session["TrafficMirrorSessionId"]
    assert code(
        error_of(ec2.modify_traffic_mirror_session, TrafficMirrorSessionId=sid, PacketLength=9000)
    ) == ("InvalidParameterValue")
    assert code(error_of(ec2.modify_traffic_mirror_session, TrafficMirrorSessionId=sid, SessionNumber=2)) == (
        "InvalidParameterValue"
    )
    assert (
        code(
            error_of(
                ec2.modify_traffic_mirror_session,
                TrafficMirrorSessionId=sid,
                TrafficMirrorTargetId="tmt-0123456789abcdef0",
            )
        )
        == "InvalidTrafficMirrorTargetId.NotFound"
    )
    assert (
        code(
            error_of(
                ec2.modify_traffic_mirror_session,
                TrafficMirrorSessionId=sid,
                TrafficMirrorFilterId="tmf-0123456789abcdef0",
            )
        )
        == "InvalidTrafficMirrorFilterId.NotFound"
    )
    (described,) = sessions(ec2, TrafficMirrorSessionIds=[sid])
    assert (described["PacketLength"], described["SessionNumber"]) == (100, 1)


def test_remove_fields(ec2, make_session):
    session = make_session(session_number=1, PacketLength=100, VirtualNetworkId=5, Description="d")
    sid = session["TrafficMirrorSessionId"]
    ec2.modify_traffic_mirror_session(
        TrafficMirrorSessionId=sid, RemoveFields=["packet-length", "description", "virtual-network-id"]
    )
    (described,) = sessions(ec2)
    assert "PacketLength" not in described, "whole packet again"
    assert "Description" not in described
    assert described["VirtualNetworkId"] not in (5, None)


def test_remove_field_conflicting_with_a_new_value_is_rejected(ec2, make_session):
    sid = make_session(PacketLength=100)["TrafficMirrorSessionId"]
    error = error_of(
        ec2.modify_traffic_mirror_session,
        TrafficMirrorSessionId=sid,
        PacketLength=50,
        RemoveFields=["packet-length"],
    )
    assert code(error) == "InvalidParameterCombination"
    assert sessions(ec2)[0]["PacketLength"] == 100


def test_client_token_same_parameters_returns_original(ec2, make_session):
    one = make_session(session_number=1, ClientToken="token-1")
    again = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=one["NetworkInterfaceId"],
        TrafficMirrorTargetId=one["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=one["TrafficMirrorFilterId"],
        SessionNumber=1,
        ClientToken="token-1",
    )
    assert again["TrafficMirrorSession"]["TrafficMirrorSessionId"] == one["TrafficMirrorSessionId"]
    assert again["ClientToken"] == "token-1"
    assert len(sessions(ec2)) == 1


def test_client_token_with_other_parameters_is_a_mismatch(ec2, make_session):
    make_session(session_number=1, ClientToken="token-1")
    error = error_of(make_session, session_number=2, ClientToken="token-1")
    assert code(error) == "IdempotentParameterMismatch"
    assert len(sessions(ec2)) == 1


def test_client_token_longer_than_64_is_invalid(ec2, make_session):
    assert code(error_of(make_session, ClientToken="x" * 65)) == "InvalidParameterValue"
    make_session(ClientToken="x" * 64)
    assert len(sessions(ec2)) == 1


def test_client_token_is_forgotten_after_delete(ec2, make_session):
    first = make_session(session_number=1, ClientToken="reuse")
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=first["TrafficMirrorSessionId"])
    second = make_session(session_number=1, ClientToken="reuse")
    assert second["TrafficMirrorSessionId"] != first["TrafficMirrorSessionId"]
    assert [s["TrafficMirrorSessionId"] for s in sessions(ec2)] == [second["TrafficMirrorSessionId"]]


def test_delete_session(ec2, make_session):
    sid = make_session()["TrafficMirrorSessionId"]
    assert ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=sid)["TrafficMirrorSessionId"] == sid
    assert sessions(ec2) == []
