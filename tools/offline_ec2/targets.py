"""Traffic Mirror targets: Create, Delete, Describe.

Over moto: AWS ids (tmt-), existence checks for the ENI / NLB / GWLB endpoint,
ClientToken, DryRun, tag filters and paging, DeleteTrafficMirrorTarget (moto
has none) refusing a target still used by a session (DependencyViolation).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from . import describe, idempotency, ids, lookups, tags
from .dry_run_auth import answer_dry_run
from .errors import EC2Error, invalid_combination
from .faults import FAULTS
from .state import LOCK, MirrorResource
from .validation import check_client_token

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


class TargetResponses(EC2BaseResponse):
    def create_traffic_mirror_target(self) -> ActionResult:
        action = "CreateTrafficMirrorTarget"
        with LOCK:
            backend = self.ec2_backend
            token = check_client_token(self._get_param("ClientToken"))
            given = {p: self._get_param(p) for p in TARGET_KINDS if self._get_param(p)}
            if len(given) != 1:
                raise invalid_combination(
                    "Exactly one of NetworkInterfaceId, NetworkLoadBalancerArn or "
                    f"GatewayLoadBalancerEndpointId is required (got {len(given)})."
                )
            ((kind_param, destination),) = given.items()
            new_tags = tags.tags_from_specifications(
                self._get_param("TagSpecifications"), "traffic-mirror-target"
            )
            dry_run = self._get_param("DryRun", False)
            replayed = (
                None if dry_run else idempotency.replayed_resource_id(backend, action, token, self.params)
            )
            if replayed:
                target = backend.traffic_mirror_targets[replayed]
            else:
                _require_destination_exists(backend, kind_param, destination)
                answer_dry_run(self)
                target = TrafficMirrorTarget(backend, kind_param, destination, self._get_param("Description"))
                backend.traffic_mirror_targets[target.id] = target
                tags.tag_new_resource(backend, target.id, new_tags)
                idempotency.remember(backend, action, token, self.params, target.id)
            return ActionResult({"TrafficMirrorTarget": target.to_dict(), "ClientToken": token})

    def delete_traffic_mirror_target(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            target = lookups.get_target(backend, self._get_param("TrafficMirrorTargetId"))
            users = [
                s.id
                for s in backend.traffic_mirror_sessions.values()
                if s.traffic_mirror_target_id == target.id
            ]
            if users:
                raise EC2Error(
                    "DependencyViolation",
                    f"The traffic mirror target '{target.id}' is in use by traffic mirror "
                    f"session(s): {', '.join(users)}.",
                )
            answer_dry_run(self)
            del backend.traffic_mirror_targets[target.id]
            tags.forget_tags(backend, target.id)
            idempotency.forget_resource(backend, target.id)
            return ActionResult({"TrafficMirrorTargetId": target.id})

    def describe_traffic_mirror_targets(self) -> ActionResult:
        with LOCK:
            dry_run = self._get_param("DryRun", False)
            page, token = describe.describe(
                store=self.ec2_backend.traffic_mirror_targets,
                prefix=ids.TARGET,
                requested_ids=self._get_param("TrafficMirrorTargetIds"),
                filters=self._filters_from_querystring(),
                getters=DESCRIBE_FILTERS,
                max_results=self._get_param("MaxResults"),
                next_token=self._get_param("NextToken"),
                lagging=not dry_run,
            )
            answer_dry_run(self)
            return ActionResult({"TrafficMirrorTargets": [t.to_dict() for t in page], "NextToken": token})
