# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shapes the modules return: AWS's CamelCase made snake_case, tags as a dict."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import boto3_resource_to_ansible_dict


def tags_of(resource):
    return boto3_tag_list_to_ansible_dict(resource.get("Tags") or [])


def snake_resource(resource):
    """An EC2 traffic-mirroring resource as the modules return it: amazon.aws's camel_dict_to_snake_dict with the
    tags as a dict (boto3_resource_to_ansible_dict; these resources carry no dates, so nothing to normalise)."""
    return boto3_resource_to_ansible_dict(resource, normalize=False)


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


# The session's options, 'session_number' and the like (tm_session_plan.session_options builds the argument spec).
SESSION_OPTION_FIELDS = SESSION_FIELDS[:8]
INT_FIELDS = ("session_number", "packet_length", "virtual_network_id")


def session_view(session):
    """The fields of a session that a diff shows, in a stable order, absent ones as None."""
    snake = snake_resource(session)
    return {field: snake.get(field) for field in SESSION_FIELDS}
