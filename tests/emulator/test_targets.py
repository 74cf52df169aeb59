"""Targets: one kind, existence of what they point at, DependencyViolation on delete."""

from __future__ import annotations

import re

import pytest

from .support import code, error_of


@pytest.fixture
def net(full_net):
    """Targets need the load balancers too."""
    return full_net


def targets(ec2, **kw):
    return ec2.describe_traffic_mirror_targets(**kw)["TrafficMirrorTargets"]


def test_each_target_kind(ec2, net):
    eni = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][0], Description="eni")
    nlb = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=net["nlb_arn"])
    gwlbe = ec2.create_traffic_mirror_target(GatewayLoadBalancerEndpointId=net["gwlb_endpoint_id"])
    kinds = {t["TrafficMirrorTarget"]["Type"] for t in (eni, nlb, gwlbe)}
    assert kinds == {"network-interface", "network-load-balancer", "gateway-load-balancer-endpoint"}
    assert re.fullmatch(r"tmt-[0-9a-f]{17}", eni["TrafficMirrorTarget"]["TrafficMirrorTargetId"])
    assert nlb["TrafficMirrorTarget"]["NetworkLoadBalancerArn"] == net["nlb_arn"]
    assert gwlbe["TrafficMirrorTarget"]["GatewayLoadBalancerEndpointId"] == net["gwlb_endpoint_id"]
    assert eni["TrafficMirrorTarget"]["OwnerId"] == "123456789012"
    assert len(targets(ec2)) == 3


@pytest.mark.parametrize("kinds", [(), ("NetworkInterfaceId", "NetworkLoadBalancerArn")])
def test_exactly_one_kind_is_required(ec2, net, kinds):
    values = {"NetworkInterfaceId": net["eni_ids"][0], "NetworkLoadBalancerArn": net["nlb_arn"]}
    error = error_of(ec2.create_traffic_mirror_target, **{k: values[k] for k in kinds})
    assert code(error) == "InvalidParameterCombination"
    assert targets(ec2) == []


def test_what_a_target_points_at_must_exist(ec2, net):
    assert code(error_of(ec2.create_traffic_mirror_target, NetworkInterfaceId="eni-0123456789abcdef0")) == (
        "InvalidNetworkInterfaceID.NotFound"
    )
    missing_nlb = net["nlb_arn"].rsplit("/", 1)[0] + "/0000000000000000"
    assert code(error_of(ec2.create_traffic_mirror_target, NetworkLoadBalancerArn=missing_nlb)) == (
        "InvalidParameterValue"
    )
    assert code(
        error_of(ec2.create_traffic_mirror_target, GatewayLoadBalancerEndpointId="vpce-0123456789abcdef0")
    ) == ("InvalidVpcEndpointId.NotFound")
    assert code(error_of(ec2.create_traffic_mirror_target, GatewayLoadBalancerEndpointId="endpoint-1")) == (
        "InvalidVpcEndpointId.Malformed"
    )
    assert targets(ec2) == []


def test_gateway_load_balancer_is_not_a_network_load_balancer(ec2, net):
    error = error_of(ec2.create_traffic_mirror_target, NetworkLoadBalancerArn=net["gwlb_arn"])
    assert code(error) == "InvalidParameterValue"


def test_delete_target_in_use_is_a_dependency_violation(ec2, make_session, target_id):
    session = make_session()
    error = error_of(ec2.delete_traffic_mirror_target, TrafficMirrorTargetId=target_id)
    assert code(error) == "DependencyViolation"
    assert session["TrafficMirrorSessionId"] in error.response["Error"]["Message"]
    assert len(targets(ec2)) == 1
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session["TrafficMirrorSessionId"])
    assert (
        ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target_id)["TrafficMirrorTargetId"]
        == target_id
    )
    assert targets(ec2) == []


def test_delete_unknown_target(ec2):
    error = error_of(ec2.delete_traffic_mirror_target, TrafficMirrorTargetId="tmt-0123456789abcdef0")
    assert code(error) == "InvalidTrafficMirrorTargetId.NotFound"


def test_target_client_token(ec2, net):
    one = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][0], ClientToken="t")
    two = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][0], ClientToken="t")
    assert (
        one["TrafficMirrorTarget"]["TrafficMirrorTargetId"]
        == two["TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    )
    error = error_of(ec2.create_traffic_mirror_target, NetworkInterfaceId=net["eni_ids"][1], ClientToken="t")
    assert code(error) == "IdempotentParameterMismatch"
    assert len(targets(ec2)) == 1


def test_create_network_can_be_called_twice(aws):
    first, second = aws.create_network(eni_count=1), aws.create_network(eni_count=2)
    assert first["nlb_arn"] != second["nlb_arn"] and len(second["eni_ids"]) == 2
    assert first["gwlb_endpoint_id"].startswith("vpce-") and second["gwlb_arn"]
