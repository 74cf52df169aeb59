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

from . import handlers, ids, lookups
from .dry_run_auth import answer_dry_run
from .errors import invalid_combination
from .faults import FAULTS
from .state import LOCK, MirrorResource, mirror_state
from .validation import check_choices

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


FILTERS = handlers.Kind(
    "TrafficMirrorFilter", ids.FILTER, DESCRIBE_FILTERS, lambda b: b.traffic_mirror_filters
)


class FilterResponses(EC2BaseResponse):
    def create_traffic_mirror_filter(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            build = lambda _p, _f: TrafficMirrorFilter(backend, self._get_param("Description"))  # noqa: E731
            return handlers.create(self, FILTERS, build)

    def delete_traffic_mirror_filter(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            mirror_filter = lookups.get_filter(backend, self._get_param("TrafficMirrorFilterId"))
            handlers.refuse_while_in_use(backend, mirror_filter, "traffic_mirror_filter_id", "filter")
            rules = mirror_state(backend).rules
            owned = [(rules, rule) for rule in mirror_filter.rules()]
            return handlers.delete(self, FILTERS, mirror_filter, dependents=owned)

    describe_traffic_mirror_filters = handlers.describe_method(FILTERS)

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
