# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tag reconciliation for traffic-mirroring resources, with DryRun in check mode."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import write


def tag_requests(resource_id, current_tags, desired_tags, purge_tags):
    """The DeleteTags and CreateTags requests (either may be None) that bring the tags to `desired_tags`. Pure.

    desired_tags None leaves the tags alone; `aws:` tags are never touched (compare_aws_tags). Returns
    (unset, set, tags after). A DeleteTags key without a value removes the tag whatever its value.
    """
    if desired_tags is None:
        return None, None, dict(current_tags)
    to_set, to_unset = compare_aws_tags(current_tags, desired_tags, purge_tags)
    unset = {"Resources": [resource_id], "Tags": [{"Key": key} for key in to_unset]} if to_unset else None
    tag = {"Resources": [resource_id], "Tags": ansible_dict_to_boto3_tag_list(to_set)} if to_set else None
    tags = {k: v for k, v in current_tags.items() if k not in to_unset}
    tags.update(to_set)
    return unset, tag, tags


def send_tag_requests(module, client, resource_id, unset, tag):
    """Send the requests tag_requests() planned (DryRun calls in check mode)."""
    if unset:
        write(module, client, "delete_tags", "removing tags from " + resource_id, **unset)
    if tag:
        write(module, client, "create_tags", "tagging " + resource_id, **tag)


def reconcile_tags(module, client, resource_id, current_tags, desired_tags, purge_tags):
    """Bring a resource's tags to `desired_tags`; `aws:` tags are never touched.

    desired_tags None leaves the tags alone. Returns (changed, tags as they now are).
    """
    unset, tag, tags = tag_requests(resource_id, current_tags, desired_tags, purge_tags)
    send_tag_requests(module, client, resource_id, unset, tag)
    return bool(unset or tag), tags


def desired_tags_with_name(params):
    """The tags to reconcile for a resource named by its Name tag: `tags` plus Name=`name`.

    None (tags omitted) leaves the tags alone.
    """
    if params["tags"] is None:
        return None
    tags = dict(params["tags"])
    if params.get("name"):
        tags["Name"] = params["name"]
    return tags
