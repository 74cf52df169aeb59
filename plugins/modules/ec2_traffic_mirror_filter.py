#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_filter
short_description: Create, update and delete AWS VPC traffic mirror filters and their rules
version_added: 0.1.0
description:
  - Manages a traffic mirror filter, which selects the traffic a session mirrors, with its ingress
    and egress rules and its network services.
  - A filter is found by O(traffic_mirror_filter_id), or by O(name) (its C(Name) tag).
  - Rules are reconciled with the fewest calls. A rule whose number stays is modified in place; a rule
    that only changes its number is renumbered with one call; the others are created or deleted.
  - AWS evaluates the rules of a direction in ascending rule number; the first match decides whether a
    packet is mirrored (V(accept)) or not (V(reject)); a packet no rule matches is not mirrored.
  - The rule shape is the one M(netmirror.traffic_mirror.ec2_traffic_mirror_filter_info) returns and
    the software mirroring agent (role C(netmirror.traffic_mirror.mirror_agent)) takes, so one filter
    definition serves AWS sessions and software sessions alike.
  - Check mode is a real dry run; each planned write is sent with C(DryRun=true). See O(check_mode_dry_run).
author:
  - netmirror team (@netmirror)
options:
  description:
    description:
      - The filter's description. AWS cannot change the description of an existing filter; a different
        one fails the task unless O(replace=true).
    type: str
  # The rule sub-options of ingress_rules and egress_rules: the doc fragment netmirror.traffic_mirror.filter_rules.
  ingress_rules:
    description:
      - The rules for traffic the source network interface receives, at most 10. Omitted, the ingress
        rules are left alone; V([]) with O(purge_rules=true) removes them all.
    type: list
    elements: dict
  egress_rules:
    description:
      - The rules for traffic the source network interface sends, at most 10; as O(ingress_rules).
    type: list
    elements: dict
  purge_rules:
    description:
      - Delete the rules of a given direction that O(ingress_rules) or O(egress_rules) does not list.
    type: bool
    default: true
  network_services:
    description:
      - Network services whose traffic is mirrored; V(amazon-dns) mirrors Amazon DNS traffic. Omitted,
        they are left alone; V([]) removes them.
    type: list
    elements: str
    choices: [amazon-dns]
  replace:
    description:
      - When the description differs (AWS cannot modify it), delete the filter and create a new one
        instead of failing. Only possible while no session uses the filter.
    type: bool
    default: false
extends_documentation_fragment:
  - netmirror.traffic_mirror.resource.filters
  - netmirror.traffic_mirror.filter_rules
  - netmirror.traffic_mirror.writes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Mirror web traffic and DNS, never the backup stream
  netmirror.traffic_mirror.ec2_traffic_mirror_filter:
    name: web-ids
    description: What the IDS sees of the web tier
    ingress_rules:
      - rule_number: 10
        rule_action: reject
        protocol: tcp
        source_cidr_block: 10.0.9.0/24
        destination_cidr_block: 0.0.0.0/0
      - rule_number: 100
        rule_action: accept
        protocol: tcp
        source_cidr_block: 0.0.0.0/0
        destination_cidr_block: 0.0.0.0/0
        destination_port_range: {from_port: 443, to_port: 443}
    egress_rules:
      - rule_number: 100
        rule_action: accept
        source_cidr_block: 0.0.0.0/0
        destination_cidr_block: 0.0.0.0/0
    network_services: [amazon-dns]
    tags:
      team: secops
  register: web_filter

- name: Copy an existing filter's rules to another one (the _info shape is the module's shape)
  netmirror.traffic_mirror.ec2_traffic_mirror_filter:
    name: web-ids-copy
    ingress_rules: "{{ web_filter.traffic_mirror_filter.ingress_rules }}"
    egress_rules: "{{ web_filter.traffic_mirror_filter.egress_rules }}"
"""

RETURN = r"""
traffic_mirror_filter:
  description: The filter after the task (as it would be, in check mode); empty after V(state=absent).
  returned: always
  type: dict
  contains:
    traffic_mirror_filter_id:
      description: The filter id.
      type: str
      sample: tmf-0123456789abcdef0
    description:
      description: The description.
      type: str
    network_services:
      description: The network services mirrored.
      type: list
      elements: str
    ingress_rules:
      description: The ingress rules, by rule number, in the shape O(ingress_rules) takes.
      type: list
      elements: dict
    egress_rules:
      description: The egress rules, by rule number, in the shape O(egress_rules) takes.
      type: list
      elements: dict
    tags:
      description: The tags, as a dict.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications
from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import RuleError
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import parse_network_services
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import parse_rules
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import derived_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import write
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import filter_view
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import modify_request
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import plan_rule_changes
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import rule_fields_for_aws
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import sorted_rules
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import view
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import tags_of
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import fail_on_errors
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import start
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_id
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_tags
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import FILTER
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import resource_argument_spec
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import run_resource_module
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import desired_tags_with_name
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import reconcile_tags

DIRECTIONS = ("ingress", "egress")


def desired_rules(module):
    """{direction: validated rules} for the directions the task gives; fails naming the bad rule and field."""
    rules = {}
    errors = []
    for direction in DIRECTIONS:
        given = module.params[direction + "_rules"]
        if given is None:
            continue
        # Ansible fills absent suboptions with None; the rule model wants them absent.
        cleaned = [scrub_none_parameters(rule) for rule in given]
        try:
            rules[direction] = parse_rules(cleaned, direction)
        except RuleError as e:
            errors.append(str(e))
    try:
        parse_network_services(module.params["network_services"])
    except RuleError as e:
        errors.append(str(e))
    return rules, errors


def parameter_errors(params):
    checks = [
        check_id("traffic_mirror_filter_id", params["traffic_mirror_filter_id"], "tmf"),
        check_client_token(params["client_token"]),
    ]
    errors = [message for message in checks if message] + check_tags(params["tags"])
    if not params["traffic_mirror_filter_id"] and not params["name"]:
        errors.append("traffic_mirror_filter_id or name is required to identify the filter.")
    return errors


def reconcile_rules(module, client, filter_id, current, rules):
    """Apply the planned rule calls of each direction; returns (changed, {direction: rules now})."""
    changed = False
    now = {}
    for direction in DIRECTIONS:
        existing = sorted_rules(current.get(direction.capitalize() + "FilterRules"))
        if direction not in rules:
            now[direction] = existing
            continue
        rule_ids = _rule_ids_by_number(current, direction)
        steps = plan_rule_changes(existing, rules[direction], module.params["purge_rules"])
        for step in steps:
            changed = True
            _apply_rule_step(module, client, filter_id, direction, rule_ids, step)
        result = {r.rule_number: r for r in existing}
        for step in steps:
            if step[0] in ("delete", "modify"):
                result.pop(step[1].rule_number, None)
            if step[0] in ("modify", "create"):
                result[step[-1].rule_number] = step[-1]
        now[direction] = sorted(result.values(), key=lambda r: r.rule_number)
    return changed, now


def _rule_ids_by_number(aws_filter, direction):
    return {
        r["RuleNumber"]: r["TrafficMirrorFilterRuleId"]
        for r in aws_filter.get(direction.capitalize() + "FilterRules") or []
    }


def _apply_rule_step(module, client, filter_id, direction, rule_ids, step):
    kind, rule = step[0], step[1]
    where = "{0} rule {1} of {2}".format(direction, rule.rule_number, filter_id)
    if kind == "delete":
        write(
            module,
            client,
            "delete_traffic_mirror_filter_rule",
            "deleting " + where,
            gone_if_not_found="filter rule",
            TrafficMirrorFilterRuleId=rule_ids[rule.rule_number],
        )
    elif kind == "modify":
        request = modify_request(rule, step[2])
        request.update(TrafficMirrorFilterRuleId=rule_ids[rule.rule_number], TrafficDirection=direction)
        write(module, client, "modify_traffic_mirror_filter_rule", "modifying " + where, **request)
    else:
        request = rule_fields_for_aws(rule)
        request.update(TrafficMirrorFilterId=filter_id, TrafficDirection=direction)
        write(module, client, "create_traffic_mirror_filter_rule", "creating " + where, **request)


def reconcile_network_services(module, client, filter_id, current_services):
    desired = module.params["network_services"]
    current = sorted(current_services or [])
    if desired is None or sorted(set(desired)) == current:
        return False, current
    request = {"TrafficMirrorFilterId": filter_id}
    added = sorted(set(desired) - set(current))
    removed = sorted(set(current) - set(desired))
    if added:
        request["AddNetworkServices"] = added
    if removed:
        request["RemoveNetworkServices"] = removed
    write(
        module,
        client,
        "modify_traffic_mirror_filter_network_services",
        "changing the network services of " + filter_id,
        **request,
    )
    return True, sorted(set(desired))


def create_filter(module, client, rules):
    params = module.params
    request = {}
    if params["description"]:
        request["Description"] = params["description"]
    tags = desired_tags_with_name(params) or ({"Name": params["name"]} if params["name"] else {})
    if tags:
        request["TagSpecifications"] = boto3_tag_specifications(tags, types=["traffic-mirror-filter"])
    request["ClientToken"] = params["client_token"] or derived_client_token("traffic-mirror-filter", request)
    response = write(module, client, "create_traffic_mirror_filter", "creating a traffic mirror filter", **request)
    if response is None:  # check mode: the rules cannot be dry-run without the new filter's id
        return view(None, params["description"], params["network_services"] or [], rules, tags)
    created = response["TrafficMirrorFilter"]
    filter_id = created["TrafficMirrorFilterId"]
    _rules_changed, now = reconcile_rules(module, client, filter_id, created, rules)
    _services_changed, services = reconcile_network_services(module, client, filter_id, created.get("NetworkServices"))
    return view(filter_id, created.get("Description"), services, now, tags_of(created))


def update_filter(module, client, current, rules):
    params = module.params
    filter_id = current["TrafficMirrorFilterId"]
    rules_changed, now = reconcile_rules(module, client, filter_id, current, rules)
    services_changed, services = reconcile_network_services(module, client, filter_id, current.get("NetworkServices"))
    tags_changed, tags = reconcile_tags(
        module, client, filter_id, tags_of(current), desired_tags_with_name(params), params["purge_tags"]
    )
    changed = rules_changed or services_changed or tags_changed
    return changed, view(filter_id, current.get("Description"), services, now, tags)


def refusal(params, current):
    """AWS cannot modify a filter's description: the message when the task asks for another one, else None."""
    if params["description"] is None or params["description"] == (current.get("Description") or ""):
        return None
    return (
        "Traffic mirror filter {0} has description {1!r}, not {2!r}, and AWS cannot modify a filter's "
        "description.".format(current["TrafficMirrorFilterId"], current.get("Description"), params["description"])
    )


def main():
    argument_spec = resource_argument_spec(
        FILTER,
        ingress_rules=dict(type="list", elements="dict", options=_rule_spec()),
        egress_rules=dict(type="list", elements="dict", options=_rule_spec()),
        purge_rules=dict(type="bool", default=True),
        network_services=dict(type="list", elements="str", choices=["amazon-dns"]),
    )
    module = start(argument_spec)
    rules, rule_errors = desired_rules(module)
    fail_on_errors(module, parameter_errors(module.params) + rule_errors)
    run_resource_module(
        module,
        FILTER,
        filter_view,
        lambda current: refusal(module.params, current),
        lambda client: create_filter(module, client, rules),
        lambda client, current: update_filter(module, client, current, rules),
    )


def _rule_spec():
    ports = dict(from_port=dict(type="int", required=True), to_port=dict(type="int", required=True))
    return dict(
        rule_number=dict(type="int", required=True),
        rule_action=dict(type="str", required=True, choices=["accept", "reject"]),
        protocol=dict(type="raw"),
        source_cidr_block=dict(type="str", required=True),
        destination_cidr_block=dict(type="str", required=True),
        source_port_range=dict(type="dict", options=ports),
        destination_port_range=dict(type="dict", options=ports),
        description=dict(type="str"),
    )


if __name__ == "__main__":
    main()
