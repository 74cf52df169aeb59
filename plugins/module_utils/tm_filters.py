# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Traffic mirror filters between AWS and the shared rule model (mirror_rules).

AWS rules are read into mirror_rules.FilterRule objects, so the modules, the _info
module and the software agent all speak one rule shape. The planner finds the
fewest rule calls that turn the current rules of one direction into the desired ones.
"""

from __future__ import annotations

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import RULE_FIELDS
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import parse_rule
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import tags_of

# AWS field of each optional rule field, and the RemoveFields name that clears it.
OPTIONAL_RULE_FIELDS = (
    ("protocol", "Protocol", "protocol"),
    ("source_port_range", "SourcePortRange", "source-port-range"),
    ("destination_port_range", "DestinationPortRange", "destination-port-range"),
    ("description", "Description", "description"),
)


def rule_from_aws(aws_rule):
    """An AWS TrafficMirrorFilterRule as a mirror_rules.FilterRule (AWS's ids, direction and tags left out, and
    an empty description or port range read as none)."""
    snake = camel_dict_to_snake_dict(aws_rule)
    data = {k: v for k, v in snake.items() if k in RULE_FIELDS and v not in (None, "", {})}
    return parse_rule(data, aws_rule["TrafficDirection"])


def rule_fields_for_aws(rule):
    """The request fields that describe `rule` (everything but its id and direction): its module shape in
    CamelCase."""
    return snake_dict_to_camel_dict(rule.to_dict(), capitalize_first=True)


def modify_request(current, desired):
    """ModifyTrafficMirrorFilterRule fields turning `current` into `desired`: only what differs."""
    old, new = rule_fields_for_aws(current), rule_fields_for_aws(desired)
    request = {field: value for field, value in new.items() if old.get(field) != value}
    remove = [remove_name for _option, field, remove_name in OPTIONAL_RULE_FIELDS if field in old and field not in new]
    if remove:
        request["RemoveFields"] = remove
    return request


def same_content(a, b):
    """Equal but for the rule number."""
    return {**rule_fields_for_aws(a), "RuleNumber": None} == {**rule_fields_for_aws(b), "RuleNumber": None}


def plan_rule_changes(current, desired, purge):
    """The fewest calls that turn `current` rules (one direction) into `desired` ones.

    Returns an ordered list of ("delete", current_rule), ("modify", current_rule, desired_rule)
    and ("create", desired_rule), where no step needs a rule number still held by another
    rule: deletes first, then modifies in an order that frees each number before it is
    taken (a cycle of renumbers is broken by deleting one rule and creating it last), then
    creates. With purge=False, current rules that are not desired stay and none is renumbered.
    """
    desired_by_number = {r.rule_number: r for r in desired}
    kept = {r.rule_number for r in current if desired_by_number.get(r.rule_number) == r}
    leftover = [r for r in current if r.rule_number not in kept]
    wanted = [r for r in desired if r.rule_number not in kept]

    modifies = []
    if purge:  # a rule that only changes number is one Modify call
        for rule in list(wanted):
            twin = next((c for c in leftover if same_content(c, rule)), None)
            if twin is not None:
                modifies.append((twin, rule))
                leftover.remove(twin)
                wanted.remove(rule)
    for rule in list(wanted):  # a rule that keeps its number is modified in place
        same_number = next((c for c in leftover if c.rule_number == rule.rule_number), None)
        if same_number is not None:
            modifies.append((same_number, rule))
            leftover.remove(same_number)
            wanted.remove(rule)

    steps = [("delete", r) for r in leftover] if purge else []
    held = {r.rule_number for r in current} - ({r.rule_number for r in leftover} if purge else set())
    creates = list(wanted)
    while modifies:
        ready = [m for m in modifies if m[0].rule_number == m[1].rule_number or m[1].rule_number not in held]
        if not ready:
            source, rule = modifies.pop(0)
            steps.append(("delete", source))
            held.discard(source.rule_number)
            creates.append(rule)
            continue
        for source, rule in ready:
            steps.append(("modify", source, rule))
            held.discard(source.rule_number)
            held.add(rule.rule_number)
            modifies.remove((source, rule))
    steps.extend(("create", r) for r in sorted(creates, key=lambda r: r.rule_number))
    return steps


def view(filter_id, description, services, rules, tags):
    """A filter as the modules return it: rules ({direction: FilterRule list}) in exactly the shape the filter
    module takes."""
    return {
        "traffic_mirror_filter_id": filter_id,
        "description": description,
        "network_services": sorted(services or []),
        "ingress_rules": [r.to_dict() for r in rules.get("ingress", ())],
        "egress_rules": [r.to_dict() for r in rules.get("egress", ())],
        "tags": dict(tags),
    }


def filter_view(aws_filter):
    """An AWS TrafficMirrorFilter as the modules return it. Not boto3_resource_to_ansible_dict: that would return
    AWS's rule shape (rule ids, traffic_direction, FromPort...), and the rules are returned in the module's own
    shape so that they can be fed back to the filter module and to the agent unchanged."""
    rules = {d: sorted_rules(aws_filter.get(d.capitalize() + "FilterRules")) for d in ("ingress", "egress")}
    return view(
        aws_filter.get("TrafficMirrorFilterId"),
        aws_filter.get("Description"),
        aws_filter.get("NetworkServices"),
        rules,
        tags_of(aws_filter),
    )


def sorted_rules(aws_rules):
    return sorted((rule_from_aws(r) for r in aws_rules or []), key=lambda r: r.rule_number)
