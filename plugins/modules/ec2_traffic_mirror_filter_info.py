#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_filter_info
short_description: List AWS VPC traffic mirror filters with their rules
version_added: 0.1.0
description:
  - Describes traffic mirror filters by id and/or by AWS filters, reading every page.
  - Each filter's C(ingress_rules) and C(egress_rules) are in exactly the shape that
    M(netmirror.traffic_mirror.ec2_traffic_mirror_filter) takes and the software mirroring agent's
    configuration uses, so a filter can be copied, or fed to the agent, unchanged.
author:
  - netmirror team (@netmirror)
extends_documentation_fragment:
  - netmirror.traffic_mirror.info.filters
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The filter named web-ids
  netmirror.traffic_mirror.ec2_traffic_mirror_filter_info:
    filters:
      "tag:Name": web-ids
  register: found

- name: Give its rules to the software agent on hosts AWS cannot mirror
  ansible.builtin.set_fact:
    agent_filter:
      ingress_rules: "{{ found.traffic_mirror_filters[0].ingress_rules }}"
      egress_rules: "{{ found.traffic_mirror_filters[0].egress_rules }}"
      network_services: "{{ found.traffic_mirror_filters[0].network_services }}"
"""

RETURN = r"""
traffic_mirror_filters:
  description: The filters, in the shape that M(netmirror.traffic_mirror.ec2_traffic_mirror_filter) returns.
  returned: always
  type: list
  elements: dict
  contains:
    traffic_mirror_filter_id:
      description: The filter id.
      type: str
    description:
      description: The description.
      type: str
    network_services:
      description: The network services mirrored.
      type: list
      elements: str
    ingress_rules:
      description: The ingress rules, by rule number.
      type: list
      elements: dict
    egress_rules:
      description: The egress rules, by rule number.
      type: list
      elements: dict
    tags:
      description: The tags, as a dict.
      type: dict
"""

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import filter_view
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_info import run_info_module


def main():
    run_info_module("filter", filter_view)


if __name__ == "__main__":
    main()
