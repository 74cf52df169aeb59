#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_session_info
short_description: List AWS VPC traffic mirror sessions
version_added: 0.1.0
description:
  - Describes traffic mirror sessions by id and/or by AWS filters, reading every page.
author:
  - netmirror team (@netmirror)
extends_documentation_fragment:
  - netmirror.traffic_mirror.info.sessions
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: All sessions that mirror one network interface
  netmirror.traffic_mirror.ec2_traffic_mirror_session_info:
    filters:
      network-interface-id: eni-0123456789abcdef0
  register: mirrored

- name: Sessions tagged for the IDS
  netmirror.traffic_mirror.ec2_traffic_mirror_session_info:
    filters:
      "tag:team": secops
"""

RETURN = r"""
traffic_mirror_sessions:
  description: The sessions, in the shape that M(netmirror.traffic_mirror.ec2_traffic_mirror_session) returns.
  returned: always
  type: list
  elements: dict
  contains:
    traffic_mirror_session_id:
      description: The session id.
      type: str
    network_interface_id:
      description: The source network interface.
      type: str
    traffic_mirror_target_id:
      description: The target.
      type: str
    traffic_mirror_filter_id:
      description: The filter.
      type: str
    session_number:
      description: The session number.
      type: int
    packet_length:
      description: Bytes mirrored of each packet; absent when whole packets are mirrored.
      type: int
    virtual_network_id:
      description: The VXLAN network identifier.
      type: int
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
    run_info_module("session", snake_resource)


if __name__ == "__main__":
    main()
