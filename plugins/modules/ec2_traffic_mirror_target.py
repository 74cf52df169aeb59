#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_target
short_description: Create and delete AWS VPC traffic mirror targets
version_added: 0.1.0
description:
  - Manages a traffic mirror target, the destination of mirrored traffic, which is the network interface of a
    monitoring appliance, a Network Load Balancer, or a Gateway Load Balancer endpoint.
  - A target is found by O(traffic_mirror_target_id), or by O(name) (its C(Name) tag).
  - Nothing about a target can be modified in AWS except its tags. A found target whose destination or
    description differs fails the task, unless O(replace=true), which deletes it and creates a new one
    (only possible while no session uses it).
  - Check mode is a real dry run; each planned write is sent with C(DryRun=true). See O(check_mode_dry_run).
author:
  - netmirror team (@netmirror)
options:
  network_interface_id:
    description: The network interface (V(eni-...)) of the appliance that receives the copies.
    type: str
  network_load_balancer_arn:
    description: The ARN of a Network Load Balancer that spreads the copies over appliances (UDP 4789 listener).
    type: str
  gateway_load_balancer_endpoint_id:
    description: The Gateway Load Balancer endpoint (V(vpce-...)) that receives the copies.
    type: str
  description:
    description: The description of a new target.
    type: str
  replace:
    description:
      - When a found target differs from the options (destination or description, which AWS cannot
        modify), delete it and create a new one instead of failing.
    type: bool
    default: false
notes:
  - Exactly one of O(network_interface_id), O(network_load_balancer_arn) and
    O(gateway_load_balancer_endpoint_id) is needed to create a target.
  - Deleting a target that a session still uses fails with a message that lists those sessions.
extends_documentation_fragment:
  - netmirror.traffic_mirror.resource.targets
  - netmirror.traffic_mirror.writes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The IDS appliance's interface as a target
  netmirror.traffic_mirror.ec2_traffic_mirror_target:
    name: suricata-1
    network_interface_id: eni-0123456789abcdef0
    description: Suricata sensor in the security VPC
    tags:
      team: secops
  register: ids_target

- name: A Network Load Balancer in front of several sensors
  netmirror.traffic_mirror.ec2_traffic_mirror_target:
    name: sensor-pool
    network_load_balancer_arn: >-
      arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/sensors/0123456789abcdef

- name: Delete a target
  netmirror.traffic_mirror.ec2_traffic_mirror_target:
    name: suricata-1
    state: absent
"""

RETURN = r"""
traffic_mirror_target:
  description: The target after the task (as it would be, in check mode); empty after V(state=absent).
  returned: always
  type: dict
  contains:
    traffic_mirror_target_id:
      description: The target id.
      type: str
      sample: tmt-0123456789abcdef0
    type:
      description: V(network-interface), V(network-load-balancer) or V(gateway-load-balancer-endpoint).
      type: str
    network_interface_id:
      description: The appliance's network interface, for that type.
      type: str
    network_load_balancer_arn:
      description: The Network Load Balancer, for that type.
      type: str
    gateway_load_balancer_endpoint_id:
      description: The Gateway Load Balancer endpoint, for that type.
      type: str
    description:
      description: The description.
      type: str
    owner_id:
      description: The owning account.
      type: str
    tags:
      description: The tags, as a dict.
      type: dict
"""

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import derived_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import write
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import snake_resource
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import tags_of
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import start
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_id
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_nlb_arn
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_tags
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import TARGET
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import resource_argument_spec
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_resources import run_resource_module
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import desired_tags_with_name
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import reconcile_tags

# The options that name a target's destination (snake_dict_to_camel_dict makes them AWS's fields).
DESTINATIONS = ("network_interface_id", "network_load_balancer_arn", "gateway_load_balancer_endpoint_id")


def parameter_errors(params):
    checks = [
        check_id("traffic_mirror_target_id", params["traffic_mirror_target_id"], "tmt"),
        check_id("network_interface_id", params["network_interface_id"], "eni"),
        check_nlb_arn("network_load_balancer_arn", params["network_load_balancer_arn"]),
        check_id("gateway_load_balancer_endpoint_id", params["gateway_load_balancer_endpoint_id"], "vpce"),
        check_client_token(params["client_token"]),
    ]
    errors = [message for message in checks if message] + check_tags(params["tags"])
    if not params["traffic_mirror_target_id"] and not params["name"]:
        errors.append("traffic_mirror_target_id or name is required to identify the target.")
    if params["tags"] and params["name"] and params["tags"].get("Name", params["name"]) != params["name"]:
        errors.append("tags Name={0!r} contradicts name={1!r}.".format(params["tags"]["Name"], params["name"]))
    return errors


def differences(params, target):
    """What the options ask that AWS cannot modify on an existing target."""
    found = []
    current = snake_resource(target)
    for option in DESTINATIONS:
        if params[option] and params[option] != current.get(option):
            found.append("{0}: {1!r} -> {2!r}".format(option, current.get(option), params[option]))
    if params["description"] is not None and params["description"] != (target.get("Description") or ""):
        found.append("description: {0!r} -> {1!r}".format(target.get("Description"), params["description"]))
    return found


def create_target(module, client):
    params = module.params
    chosen = [option for option in DESTINATIONS if params[option]]
    if len(chosen) != 1:
        module.fail_json(
            msg="Creating a traffic mirror target needs exactly one of network_interface_id, "
            "network_load_balancer_arn, gateway_load_balancer_endpoint_id (got {0}).".format(
                ", ".join(chosen) or "none"
            )
        )
    request = snake_dict_to_camel_dict({chosen[0]: params[chosen[0]]}, capitalize_first=True)
    if params["description"]:
        request["Description"] = params["description"]
    tags = desired_tags_with_name(params) or ({"Name": params["name"]} if params["name"] else {})
    if tags:
        request["TagSpecifications"] = boto3_tag_specifications(tags, types=["traffic-mirror-target"])
    request["ClientToken"] = params["client_token"] or derived_client_token("traffic-mirror-target", request)
    response = write(module, client, "create_traffic_mirror_target", "creating a traffic mirror target", **request)
    if response is None:  # check mode: the target as it would be
        destination = {k: v for k, v in request.items() if k not in ("Description", "TagSpecifications", "ClientToken")}
        return dict(destination, Description=params["description"], Tags=ansible_dict_to_boto3_tag_list(tags))
    return response["TrafficMirrorTarget"]


def refusal(params, target):
    found = differences(params, target)
    if not found:
        return None
    return "Traffic mirror target {0} differs ({1}), and AWS cannot modify a target.".format(
        target["TrafficMirrorTargetId"], "; ".join(found)
    )


def update_tags(module, client, target):
    params = module.params
    changed, tags = reconcile_tags(
        module,
        client,
        target["TrafficMirrorTargetId"],
        tags_of(target),
        desired_tags_with_name(params),
        params["purge_tags"],
    )
    return changed, snake_resource(dict(target, Tags=ansible_dict_to_boto3_tag_list(tags)))


def main():
    argument_spec = resource_argument_spec(
        TARGET,
        network_interface_id=dict(type="str"),
        network_load_balancer_arn=dict(type="str"),
        gateway_load_balancer_endpoint_id=dict(type="str"),
    )
    module = start(argument_spec, parameter_errors, mutually_exclusive=[list(DESTINATIONS)])
    run_resource_module(
        module,
        TARGET,
        snake_resource,
        lambda current: refusal(module.params, current),
        lambda client: snake_resource(create_target(module, client)),
        lambda client, current: update_tags(module, client, current),
    )


if __name__ == "__main__":
    main()
