# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shapes the modules return: AWS's CamelCase made snake_case, tags as a dict."""

from __future__ import annotations

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict


def tags_of(resource):
    return boto3_tag_list_to_ansible_dict(resource.get("Tags") or [])


def snake_resource(resource):
    """An EC2 traffic-mirroring resource as the modules return it."""
    result = camel_dict_to_snake_dict({k: v for k, v in resource.items() if k != "Tags"})
    result["tags"] = tags_of(resource)
    return result


SESSION_FIELDS = (
    "traffic_mirror_session_id",
    "network_interface_id",
    "traffic_mirror_target_id",
    "traffic_mirror_filter_id",
    "session_number",
    "packet_length",
    "virtual_network_id",
    "description",
    "owner_id",
    "tags",
)


def session_view(session):
    """The fields of a session that a diff shows, in a stable order, absent ones as None."""
    snake = snake_resource(session)
    return {field: snake.get(field) for field in SESSION_FIELDS}
