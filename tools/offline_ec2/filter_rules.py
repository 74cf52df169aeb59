"""Traffic Mirror filter rules: Create, Modify (with RemoveFields), Delete, Describe.

moto has no filter rules at all. Rules are checked as AWS documents them:
RuleNumber 1-32766 and unique per filter direction
(TrafficMirrorFilterRuleAlreadyExists), at most 10 per direction
(TrafficMirrorFilterRuleLimitExceeded), RuleAction accept|reject,
TrafficDirection ingress|egress, Protocol 0-255, both CIDRs valid and of one
family, port ranges 0-65535 with FromPort <= ToPort and only for protocol 6/17.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from . import handlers, ids, lookups
from .dry_run_auth import answer_dry_run
from .errors import EC2Error, invalid_combination
from .state import LOCK, MirrorResource, mirror_state
from .validation import (
    PROTOCOL_RANGE,
    RULE_NUMBER_RANGE,
    check_choice,
    check_choices,
    check_cidr,
    check_port_range,
    check_ports_need_tcp_or_udp,
    check_range,
    check_same_family,
    require,
)

RULES_PER_DIRECTION = 10
DIRECTIONS = ("ingress", "egress")
RULE_ACTIONS = ("accept", "reject")
REMOVABLE_FIELDS = {
    "destination-port-range": "DestinationPortRange",
    "source-port-range": "SourcePortRange",
    "protocol": "Protocol",
    "description": "Description",
}
EDITABLE_FIELDS = (
    "TrafficDirection",
    "RuleNumber",
    "RuleAction",
    "Protocol",
    "DestinationPortRange",
    "SourcePortRange",
    "DestinationCidrBlock",
    "SourceCidrBlock",
    "Description",
)

DESCRIBE_FILTERS = {
    "traffic-mirror-filter-rule-id": lambda r: r.id,
    "traffic-mirror-filter-id": lambda r: r.filter_id,
    "rule-number": lambda r: r.fields["RuleNumber"],
    "rule-action": lambda r: r.fields["RuleAction"],
    "traffic-direction": lambda r: r.fields["TrafficDirection"],
    "protocol": lambda r: r.fields.get("Protocol"),
    "source-cidr-block": lambda r: r.fields["SourceCidrBlock"],
    "destination-cidr-block": lambda r: r.fields["DestinationCidrBlock"],
    "description": lambda r: r.fields.get("Description"),
}


def validated_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A complete rule's fields, checked and normalised; absent optional ones dropped."""
    direction = check_choice(
        "TrafficDirection", require(fields.get("TrafficDirection"), "TrafficDirection"), DIRECTIONS
    )
    action = check_choice("RuleAction", require(fields.get("RuleAction"), "RuleAction"), RULE_ACTIONS)
    number = check_range("RuleNumber", require(fields.get("RuleNumber"), "RuleNumber"), RULE_NUMBER_RANGE)
    protocol = check_range("Protocol", fields.get("Protocol"), PROTOCOL_RANGE)
    source = check_cidr("SourceCidrBlock", fields.get("SourceCidrBlock"))
    destination = check_cidr("DestinationCidrBlock", fields.get("DestinationCidrBlock"))
    check_same_family(source, destination)
    source_ports = check_port_range("SourcePortRange", fields.get("SourcePortRange"))
    destination_ports = check_port_range("DestinationPortRange", fields.get("DestinationPortRange"))
    check_ports_need_tcp_or_udp(protocol, bool(source_ports or destination_ports))
    result = {
        "TrafficDirection": direction,
        "RuleNumber": number,
        "RuleAction": action,
        "Protocol": protocol,
        "SourceCidrBlock": fields["SourceCidrBlock"],
        "DestinationCidrBlock": fields["DestinationCidrBlock"],
        "SourcePortRange": source_ports,
        "DestinationPortRange": destination_ports,
        "Description": fields.get("Description"),
    }
    return {k: v for k, v in result.items() if v is not None}


class TrafficMirrorFilterRule(MirrorResource):
    def __init__(self, ec2_backend: Any, filter_id: str, fields: dict[str, Any]):
        super().__init__(ec2_backend, ids.new_id(ids.FILTER_RULE))
        self.filter_id = filter_id
        self.fields = fields

    @property
    def direction(self) -> str:
        return self.fields["TrafficDirection"]

    @property
    def rule_number(self) -> int:
        return self.fields["RuleNumber"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "TrafficMirrorFilterRuleId": self.id,
            "TrafficMirrorFilterId": self.filter_id,
            **self.fields,
            "Tags": self.tag_list(),
        }


def _check_room_in_direction(mirror_filter: Any, fields: dict[str, Any], moving: Any = None) -> None:
    """Rule number free and fewer than 10 rules in the direction (ignoring `moving`)."""
    siblings = [r for r in mirror_filter.rules(fields["TrafficDirection"]) if r is not moving]
    if any(r.rule_number == fields["RuleNumber"] for r in siblings):
        raise EC2Error(
            "TrafficMirrorFilterRuleAlreadyExists",
            f"A {fields['TrafficDirection']} rule with rule number {fields['RuleNumber']} "
            f"already exists in traffic mirror filter '{mirror_filter.id}'.",
        )
    if len(siblings) >= RULES_PER_DIRECTION:
        raise EC2Error(
            "TrafficMirrorFilterRuleLimitExceeded",
            f"Traffic mirror filter '{mirror_filter.id}' already has {RULES_PER_DIRECTION} "
            f"{fields['TrafficDirection']} rules.",
        )


RULES = handlers.Kind(
    "TrafficMirrorFilterRule", ids.FILTER_RULE, DESCRIBE_FILTERS, lambda b: mirror_state(b).rules
)


class FilterRuleResponses(EC2BaseResponse):
    def _rule_parameters(self) -> tuple[str, dict[str, Any]]:
        filter_id = require(self._get_param("TrafficMirrorFilterId"), "TrafficMirrorFilterId")
        return filter_id, validated_fields({name: self._get_param(name) for name in EDITABLE_FIELDS})

    def _check_rule(self, given: tuple[str, dict[str, Any]]) -> Any:
        """The filter, once it exists and has room for the rule."""
        filter_id, fields = given
        mirror_filter = lookups.get_filter(self.ec2_backend, filter_id)
        _check_room_in_direction(mirror_filter, fields)
        return mirror_filter

    def create_traffic_mirror_filter_rule(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            build = lambda given, found: TrafficMirrorFilterRule(backend, found.id, given[1])  # noqa: E731
            return handlers.create(self, RULES, build, prepare=self._rule_parameters, check=self._check_rule)

    def modify_traffic_mirror_filter_rule(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            rule = lookups.get_rule(backend, self._get_param("TrafficMirrorFilterRuleId"))
            removed = check_choices("RemoveFields", self._get_param("RemoveFields"), REMOVABLE_FIELDS)
            changes = {n: self._get_param(n) for n in EDITABLE_FIELDS if self._get_param(n) is not None}
            both = [REMOVABLE_FIELDS[f] for f in removed if REMOVABLE_FIELDS[f] in changes]
            if both:
                raise invalid_combination(f"{', '.join(both)} cannot be both set and removed.")
            merged = {**rule.fields, **changes}
            for field in removed:
                merged.pop(REMOVABLE_FIELDS[field], None)
            fields = validated_fields(merged)
            mirror_filter = lookups.get_filter(backend, rule.filter_id)
            _check_room_in_direction(mirror_filter, fields, moving=rule)
            answer_dry_run(self)
            rule.fields = fields
            return ActionResult({"TrafficMirrorFilterRule": rule.to_dict()})

    def delete_traffic_mirror_filter_rule(self) -> ActionResult:
        with LOCK:
            rule = lookups.get_rule(self.ec2_backend, self._get_param("TrafficMirrorFilterRuleId"))
            return handlers.delete(self, RULES, rule)

    def describe_traffic_mirror_filter_rules(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            rules = mirror_state(backend).rules
            filter_id = self._get_param("TrafficMirrorFilterId")
            if filter_id is not None:
                lookups.get_filter(backend, filter_id)
                rules = {k: r for k, r in rules.items() if r.filter_id == filter_id}
            return handlers.describe_page(self, RULES, store=rules, lagging=False)
