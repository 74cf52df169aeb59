"""Traffic Mirror filters: Create, Delete, Describe, ModifyTrafficMirrorFilterNetworkServices.

Over moto: AWS ids (tmf-), the filter's rules in Describe (IngressFilterRules /
EgressFilterRules, by rule number), network services, ClientToken, DryRun, tag
filters and paging, DeleteTrafficMirrorFilter (moto has none) which deletes the
filter's rules and refuses a filter still used by a session (DependencyViolation).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from . import describe, idempotency, ids, lookups, tags
from .dry_run_auth import answer_dry_run
from .errors import EC2Error, invalid_combination
from .faults import FAULTS
from .state import LOCK, MirrorResource, mirror_state
from .validation import check_choices, check_client_token

NETWORK_SERVICES = ("amazon-dns",)

DESCRIBE_FILTERS = {
    "description": lambda f: f.description,
    "traffic-mirror-filter-id": lambda f: f.id,
}


class TrafficMirrorFilter(MirrorResource):
    def __init__(self, ec2_backend: Any, description: str | None):
        super().__init__(ec2_backend, ids.new_id(ids.FILTER), FAULTS.describe_lag_calls())
        self.description = description
        self.network_services: list[str] = []

    def rules(self, direction: str | None = None) -> list[Any]:
        state = mirror_state(self.ec2_backend)
        found = [
            r
            for r in state.rules.values()
            if r.filter_id == self.id and (direction is None or r.direction == direction)
        ]
        return sorted(found, key=lambda r: r.rule_number)

    def to_dict(self) -> dict[str, Any]:
        result = {
            "TrafficMirrorFilterId": self.id,
            "IngressFilterRules": [r.to_dict() for r in self.rules("ingress")],
            "EgressFilterRules": [r.to_dict() for r in self.rules("egress")],
            "NetworkServices": list(self.network_services),
            "Description": self.description,
            "Tags": self.tag_list(),
        }
        return {k: v for k, v in result.items() if v is not None}


class FilterResponses(EC2BaseResponse):
    def create_traffic_mirror_filter(self) -> ActionResult:
        action = "CreateTrafficMirrorFilter"
        with LOCK:
            backend = self.ec2_backend
            token = check_client_token(self._get_param("ClientToken"))
            new_tags = tags.tags_from_specifications(
                self._get_param("TagSpecifications"), "traffic-mirror-filter"
            )
            dry_run = self._get_param("DryRun", False)
            replayed = (
                None if dry_run else idempotency.replayed_resource_id(backend, action, token, self.params)
            )
            if replayed:
                mirror_filter = backend.traffic_mirror_filters[replayed]
            else:
                answer_dry_run(self)
                mirror_filter = TrafficMirrorFilter(backend, self._get_param("Description"))
                backend.traffic_mirror_filters[mirror_filter.id] = mirror_filter
                tags.tag_new_resource(backend, mirror_filter.id, new_tags)
                idempotency.remember(backend, action, token, self.params, mirror_filter.id)
            return ActionResult({"TrafficMirrorFilter": mirror_filter.to_dict(), "ClientToken": token})

    def delete_traffic_mirror_filter(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            mirror_filter = lookups.get_filter(backend, self._get_param("TrafficMirrorFilterId"))
            users = [
                s.id
                for s in backend.traffic_mirror_sessions.values()
                if s.traffic_mirror_filter_id == mirror_filter.id
            ]
            if users:
                raise EC2Error(
                    "DependencyViolation",
                    f"The traffic mirror filter '{mirror_filter.id}' is in use by traffic "
                    f"mirror session(s): {', '.join(users)}.",
                )
            answer_dry_run(self)
            state = mirror_state(backend)
            for rule in mirror_filter.rules():
                del state.rules[rule.id]
                tags.forget_tags(backend, rule.id)
                idempotency.forget_resource(backend, rule.id)
            del backend.traffic_mirror_filters[mirror_filter.id]
            tags.forget_tags(backend, mirror_filter.id)
            idempotency.forget_resource(backend, mirror_filter.id)
            return ActionResult({"TrafficMirrorFilterId": mirror_filter.id})

    def describe_traffic_mirror_filters(self) -> ActionResult:
        with LOCK:
            dry_run = self._get_param("DryRun", False)
            page, token = describe.describe(
                store=self.ec2_backend.traffic_mirror_filters,
                prefix=ids.FILTER,
                requested_ids=self._get_param("TrafficMirrorFilterIds"),
                filters=self._filters_from_querystring(),
                getters=DESCRIBE_FILTERS,
                max_results=self._get_param("MaxResults"),
                next_token=self._get_param("NextToken"),
                lagging=not dry_run,
            )
            answer_dry_run(self)
            return ActionResult({"TrafficMirrorFilters": [f.to_dict() for f in page], "NextToken": token})

    def modify_traffic_mirror_filter_network_services(self) -> ActionResult:
        with LOCK:
            mirror_filter = lookups.get_filter(self.ec2_backend, self._get_param("TrafficMirrorFilterId"))
            add = check_choices("AddNetworkServices", self._get_param("AddNetworkServices"), NETWORK_SERVICES)
            remove = check_choices(
                "RemoveNetworkServices", self._get_param("RemoveNetworkServices"), NETWORK_SERVICES
            )
            if set(add) & set(remove):
                raise invalid_combination("A network service cannot be both added and removed.")
            answer_dry_run(self)
            services = [s for s in mirror_filter.network_services if s not in remove]
            services += [s for s in add if s not in services]
            mirror_filter.network_services = services
            return ActionResult({"TrafficMirrorFilter": mirror_filter.to_dict()})
