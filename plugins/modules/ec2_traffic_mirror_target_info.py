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
extends_documentation_fragment:
  - netmirror.traffic_mirror.info.targets
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
    run_info_module("target", snake_resource)


if __name__ == "__main__":
    main()
