# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shapes the modules return: AWS's CamelCase made snake_case, tags as a dict."""

from __future__ import annotations

import functools

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import boto3_resource_to_ansible_dict


def tags_of(resource):
    return boto3_tag_list_to_ansible_dict(resource.get("Tags") or [])


@functools.lru_cache(maxsize=None)
def snake_key(key):
    """camel_dict_to_snake_dict's name for one key, worked out once per distinct key."""
    return next(iter(camel_dict_to_snake_dict({key: None})))


def snake_resource(resource):
    """An EC2 traffic-mirroring resource as the modules return it: amazon.aws's camel_dict_to_snake_dict with the
    tags as a dict (boto3_resource_to_ansible_dict; these resources carry no dates, so nothing to normalise).

    A flat resource (scalars and Tags: a session, a target) takes a shorter way to the same result: the library
    converts every key of every resource by regular expressions, which was a quarter of the set module's time in
    a 10,000-session audit, while a fleet's sessions share a dozen keys."""
    if resource and all(not isinstance(value, (dict, list)) for key, value in resource.items() if key != "Tags"):
        result = {snake_key(key): value for key, value in resource.items() if key != "Tags"}
        result["tags"] = tags_of(resource)
        return result
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
