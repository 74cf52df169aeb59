"""Traffic Mirror targets: Create, Delete, Describe.

Over moto: AWS ids (tmt-), existence checks for the ENI / NLB / GWLB endpoint,
ClientToken, DryRun, tag filters and paging, DeleteTrafficMirrorTarget (moto
has none) refusing a target still used by a session (DependencyViolation).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from . import handlers, ids, lookups
from .errors import invalid_combination
from .faults import FAULTS
from .state import LOCK, MirrorResource

TARGET_KINDS = {
    "NetworkInterfaceId": "network-interface",
    "NetworkLoadBalancerArn": "network-load-balancer",
    "GatewayLoadBalancerEndpointId": "gateway-load-balancer-endpoint",
}

DESCRIBE_FILTERS = {
    "description": lambda t: t.description,
    "network-interface-id": lambda t: t.network_interface_id,
    "network-load-balancer-arn": lambda t: t.network_load_balancer_arn,
    "owner-id": lambda t: t.owner_id,
    "traffic-mirror-target-id": lambda t: t.id,
}


class TrafficMirrorTarget(MirrorResource):
    def __init__(self, ec2_backend: Any, kind_param: str, destination: str, description: str | None):
        super().__init__(ec2_backend, ids.new_id(ids.TARGET), FAULTS.describe_lag_calls())
        self.type = TARGET_KINDS[kind_param]
        self.network_interface_id = destination if kind_param == "NetworkInterfaceId" else None
        self.network_load_balancer_arn = destination if kind_param == "NetworkLoadBalancerArn" else None
        self.gateway_load_balancer_endpoint_id = (
            destination if kind_param == "GatewayLoadBalancerEndpointId" else None
        )
        self.description = description

    def to_dict(self) -> dict[str, Any]:
        result = {
            "TrafficMirrorTargetId": self.id,
            "NetworkInterfaceId": self.network_interface_id,
            "NetworkLoadBalancerArn": self.network_load_balancer_arn,
            "GatewayLoadBalancerEndpointId": self.gateway_load_balancer_endpoint_id,
            "Type": self.type,
            "Description": self.description,
            "OwnerId": self.owner_id,
            "Tags": self.tag_list(),
        }
        return {k: v for k, v in result.items() if v is not None}


def _require_destination_exists(ec2_backend: Any, kind_param: str, destination: str) -> None:
    if kind_param == "NetworkInterfaceId":
        lookups.get_network_interface(ec2_backend, destination)
    elif kind_param == "NetworkLoadBalancerArn":
        lookups.get_network_load_balancer(ec2_backend, destination)
    else:
        lookups.get_gateway_load_balancer_endpoint(ec2_backend, destination)


TARGETS = handlers.Kind(
    "TrafficMirrorTarget", ids.TARGET, DESCRIBE_FILTERS, lambda b: b.traffic_mirror_targets
)


class TargetResponses(EC2BaseResponse):
    def _destination(self) -> tuple[str, str]:
        given = {p: self._get_param(p) for p in TARGET_KINDS if self._get_param(p)}
        if len(given) != 1:
            raise invalid_combination(
                "Exactly one of NetworkInterfaceId, NetworkLoadBalancerArn or "
                f"GatewayLoadBalancerEndpointId is required (got {len(given)})."
            )
        ((kind_param, destination),) = given.items()
        return kind_param, destination

    def create_traffic_mirror_target(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            description = self._get_param("Description")
            return handlers.create(
                self,
                TARGETS,
                lambda given, _found: TrafficMirrorTarget(backend, *given, description),
                prepare=self._destination,
                check=lambda given: _require_destination_exists(backend, *given),
            )

    def delete_traffic_mirror_target(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            target = lookups.get_target(backend, self._get_param("TrafficMirrorTargetId"))
            handlers.refuse_while_in_use(backend, target, "traffic_mirror_target_id", "target")
            return handlers.delete(self, TARGETS, target)

    describe_traffic_mirror_targets = handlers.describe_method(TARGETS)
