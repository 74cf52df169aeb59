"""Find a resource by id, or answer with AWS's error for a malformed or unknown id."""

from __future__ import annotations

from typing import Any

from moto.elbv2.models import elbv2_backends

from . import ids
from .errors import EC2Error, invalid_value
from .state import mirror_state

_NOT_FOUND = {
    ids.SESSION: ("InvalidTrafficMirrorSessionId.NotFound", "traffic mirror session"),
    ids.TARGET: ("InvalidTrafficMirrorTargetId.NotFound", "traffic mirror target"),
    ids.FILTER: ("InvalidTrafficMirrorFilterId.NotFound", "traffic mirror filter"),
    ids.FILTER_RULE: ("InvalidTrafficMirrorFilterRuleId.NotFound", "traffic mirror filter rule"),
}


def not_found(prefix: str, missing: list[str]) -> EC2Error:
    code, noun = _NOT_FOUND[prefix]
    quoted = ", ".join(f"'{m}'" for m in missing)
    verb = "does" if len(missing) == 1 else "do"
    return EC2Error(code, f"The {noun} ID {quoted} {verb} not exist.")


def store_for(ec2_backend: Any, prefix: str) -> dict[str, Any]:
    """The dict that holds resources with this id prefix."""
    if prefix == ids.FILTER_RULE:
        return mirror_state(ec2_backend).rules
    return {
        ids.SESSION: ec2_backend.traffic_mirror_sessions,
        ids.TARGET: ec2_backend.traffic_mirror_targets,
        ids.FILTER: ec2_backend.traffic_mirror_filters,
    }[prefix]


def get(ec2_backend: Any, prefix: str, resource_id: Any) -> Any:
    ids.require_well_formed(resource_id, prefix)
    resource = store_for(ec2_backend, prefix).get(resource_id)
    if resource is None:
        raise not_found(prefix, [resource_id])
    return resource


def get_session(ec2_backend: Any, session_id: Any) -> Any:
    return get(ec2_backend, ids.SESSION, session_id)


def get_target(ec2_backend: Any, target_id: Any) -> Any:
    return get(ec2_backend, ids.TARGET, target_id)


def get_filter(ec2_backend: Any, filter_id: Any) -> Any:
    return get(ec2_backend, ids.FILTER, filter_id)


def get_rule(ec2_backend: Any, rule_id: Any) -> Any:
    return get(ec2_backend, ids.FILTER_RULE, rule_id)


def get_network_interface(ec2_backend: Any, eni_id: Any) -> Any:
    ids.require_well_formed(eni_id, ids.NETWORK_INTERFACE)
    # moto raises InvalidNetworkInterfaceID.NotFound itself
    return ec2_backend.get_network_interface(eni_id)


def get_network_load_balancer(ec2_backend: Any, arn: Any) -> Any:
    balancers = elbv2_backends[ec2_backend.account_id][ec2_backend.region_name].load_balancers
    balancer = balancers.get(arn)
    if balancer is None:
        raise invalid_value(f"The Network Load Balancer '{arn}' does not exist.")
    if balancer.type != "network":
        raise invalid_value(
            f"The load balancer '{arn}' is of type '{balancer.type}', not a Network Load Balancer."
        )
    return balancer


def get_gateway_load_balancer_endpoint(ec2_backend: Any, endpoint_id: Any) -> Any:
    ids.require_well_formed(endpoint_id, ids.VPC_ENDPOINT)
    endpoint = ec2_backend.vpc_end_points.get(endpoint_id)
    if endpoint is None:
        raise EC2Error("InvalidVpcEndpointId.NotFound", f"The Vpc Endpoint Id '{endpoint_id}' does not exist")
    if (endpoint.vpc_endpoint_type or "").lower() != "gatewayloadbalancer":
        raise invalid_value(
            f"The VPC endpoint '{endpoint_id}' is of type '{endpoint.vpc_endpoint_type}', "
            "not a Gateway Load Balancer endpoint."
        )
    return endpoint
