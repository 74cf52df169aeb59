#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_target_info
short_description: List AWS VPC traffic mirror targets
version_added: 0.1.0
description:
  - Describes traffic mirror targets by id and/or by AWS filters, reading every page.
author:
  - netmirror team (@netmirror)
options:
  traffic_mirror_target_ids:
    description:
      - Target ids (V(tmt-...)) to describe. An id that does not exist fails the task.
    type: list
    elements: str
    default: []
    aliases: [target_ids]
  filters:
    description:
      - A dict of filters, each a name and a value or list of values, as in
        U(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTrafficMirrorTargets.html),
        for example C(network-interface-id), C(network-load-balancer-arn), C(description), C(tag:Name).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The target named suricata-1
  netmirror.traffic_mirror.ec2_traffic_mirror_target_info:
    filters:
      "tag:Name": suricata-1
  register: found
"""

RETURN = r"""
traffic_mirror_targets:
  description: The targets, in the shape that M(netmirror.traffic_mirror.ec2_traffic_mirror_target) returns.
  returned: always
  type: list
  elements: dict
  contains:
    traffic_mirror_target_id:
      description: The target id.
      type: str
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

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import snake_resource
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_info import run_info_module


def main():
    run_info_module(
        ids_option="traffic_mirror_target_ids",
        alias="target_ids",
        id_kind="tmt",
        operation="describe_traffic_mirror_targets",
        request_ids_key="TrafficMirrorTargetIds",
        result_key="TrafficMirrorTargets",
        returned_key="traffic_mirror_targets",
        shape=snake_resource,
    )


if __name__ == "__main__":
    main()
