# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The session planner: what differs between a desired session and the one AWS has. Pure: no client.

ec2_traffic_mirror_session and ec2_traffic_mirror_sessions both plan with these functions, so a session is
diffed the same way by both. A desired session is a dict in ec2_traffic_mirror_session's option shape
(snake_case, absent options None); a current session is AWS's CamelCase TrafficMirrorSession.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

WHOLE_PACKET = 0
# AWS's packet length for sessions to a Network Load Balancer target when none is given.
NLB_DEFAULT_PACKET_LENGTH = 8500
NO_DESCRIPTION = ""

# Option -> AWS field of the session fields a Modify call changes as given.
MODIFIABLE_FIELDS = (
    ("traffic_mirror_target_id", "TrafficMirrorTargetId"),
    ("traffic_mirror_filter_id", "TrafficMirrorFilterId"),
    ("session_number", "SessionNumber"),
    ("virtual_network_id", "VirtualNetworkId"),
)
REMOVED_FIELD = {"packet-length": "PacketLength", "description": "Description"}


def replaced(desired):
    """`desired` with the options left out set back to AWS's defaults (for state=replaced and overridden).

    Whole packets, no description, tags purged. The VNI stays as AWS chose it (AWS has no default to go back to).
    """
    result = dict(desired)
    if result.get("packet_length") is None:
        result["packet_length"] = WHOLE_PACKET
    if result.get("description") is None:
        result["description"] = NO_DESCRIPTION
    if result.get("tags") is None:
        result["tags"] = {}
    result["purge_tags"] = True
    return result


def tags_of(session):
    return boto3_tag_list_to_ansible_dict(session.get("Tags") or [])


def needs_target_type(desired, current):
    """Whether whole-packet planning needs the target's type: packet length 0 wanted, 8500 there."""
    return desired.get("packet_length") == WHOLE_PACKET and current.get("PacketLength") == NLB_DEFAULT_PACKET_LENGTH


def mirrors_whole_packets(current, target_is_nlb):
    """No packet length means whole packets; so does 8500 on a session to a Network Load Balancer."""
    length = current.get("PacketLength")
    return length is None or (length == NLB_DEFAULT_PACKET_LENGTH and bool(target_is_nlb))


def create_request(desired):
    """The CreateTrafficMirrorSession parameters of a desired session (no ClientToken)."""
    request = {
        "NetworkInterfaceId": desired["network_interface_id"],
        "TrafficMirrorTargetId": desired["traffic_mirror_target_id"],
        "TrafficMirrorFilterId": desired["traffic_mirror_filter_id"],
        "SessionNumber": desired["session_number"],
    }
    if desired.get("packet_length") not in (None, WHOLE_PACKET):
        request["PacketLength"] = desired["packet_length"]
    if desired.get("virtual_network_id") is not None:
        request["VirtualNetworkId"] = desired["virtual_network_id"]
    if desired.get("description") not in (None, NO_DESCRIPTION):
        request["Description"] = desired["description"]
    if desired.get("tags"):
        request["TagSpecifications"] = boto3_tag_specifications(desired["tags"], types=["traffic-mirror-session"])
    return request


def missing_for_create(desired):
    return [name for name in ("traffic_mirror_target_id", "traffic_mirror_filter_id") if not desired.get(name)]


def created_view(request):
    """The session a create request makes, as far as it is known before AWS answers (no id yet)."""
    planned = {k: v for k, v in request.items() if k not in ("ClientToken", "TagSpecifications")}
    tags = {}
    for spec in request.get("TagSpecifications", []):
        tags.update(boto3_tag_list_to_ansible_dict(spec["Tags"]))
    planned["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return planned


def modification(desired, current, whole_packet):
    """The ModifyTrafficMirrorSession request that carries only what differs, or None.

    `whole_packet`: whether `current` mirrors whole packets (see mirrors_whole_packets); only read when the
    desired packet length is 0.
    """
    request = {}
    remove_fields = []
    for option, field in MODIFIABLE_FIELDS:
        if desired.get(option) is not None and desired[option] != current.get(field):
            request[field] = desired[option]

    packet_length = desired.get("packet_length")
    if packet_length == WHOLE_PACKET and not whole_packet:
        remove_fields.append("packet-length")
    elif packet_length not in (None, WHOLE_PACKET) and packet_length != current.get("PacketLength"):
        request["PacketLength"] = packet_length

    description = desired.get("description")
    if description == NO_DESCRIPTION and current.get("Description"):
        remove_fields.append("description")
    elif description not in (None, NO_DESCRIPTION) and description != current.get("Description"):
        request["Description"] = description

    if not request and not remove_fields:
        return None
    if remove_fields:
        request["RemoveFields"] = remove_fields
    request["TrafficMirrorSessionId"] = current["TrafficMirrorSessionId"]
    return request


def apply_modification(session, request):
    """The session as it is after `request` succeeds (for check mode and the diff)."""
    after = dict(session)
    for field, value in request.items():
        if field not in ("TrafficMirrorSessionId", "RemoveFields"):
            after[field] = value
    for removed in request.get("RemoveFields", []):
        after.pop(REMOVED_FIELD[removed], None)
    return after


def tag_requests(session_id, current_tags, desired_tags, purge_tags):
    """The DeleteTags and CreateTags requests (either may be None) that bring the tags to `desired_tags`.

    desired_tags None leaves the tags alone; `aws:` tags are never touched. Returns (unset, set, tags after).
    """
    if desired_tags is None:
        return None, None, dict(current_tags)
    to_set, to_unset = compare_aws_tags(current_tags, desired_tags, purge_tags)
    unset = {"Resources": [session_id], "Tags": [{"Key": key} for key in to_unset]} if to_unset else None
    tag = {"Resources": [session_id], "Tags": [{"Key": k, "Value": v} for k, v in to_set.items()]} if to_set else None
    tags = {k: v for k, v in current_tags.items() if k not in to_unset}
    tags.update(to_set)
    return unset, tag, tags


def with_tags(session, tags):
    return dict(session, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def drift(desired, current, whole_packet):
    """Field by field, what differs: {option: {actual, desired}} (the audit's 'drifted' entry)."""
    changes = {}
    for option, field in MODIFIABLE_FIELDS:
        if desired.get(option) is not None and desired[option] != current.get(field):
            changes[option] = {"actual": current.get(field), "desired": desired[option]}
    packet_length = desired.get("packet_length")
    if packet_length == WHOLE_PACKET and not whole_packet:
        changes["packet_length"] = {"actual": current.get("PacketLength"), "desired": None}
    elif packet_length not in (None, WHOLE_PACKET) and packet_length != current.get("PacketLength"):
        changes["packet_length"] = {"actual": current.get("PacketLength"), "desired": packet_length}
    description = desired.get("description")
    if description == NO_DESCRIPTION and current.get("Description"):
        changes["description"] = {"actual": current.get("Description"), "desired": None}
    elif description not in (None, NO_DESCRIPTION) and description != current.get("Description"):
        changes["description"] = {"actual": current.get("Description"), "desired": description}
    if desired.get("tags") is not None:
        current_tags = tags_of(current)
        unset, tag, after = tag_requests("-", current_tags, desired["tags"], desired.get("purge_tags", True))
        if unset or tag:
            changes["tags"] = {"actual": current_tags, "desired": after}
    return changes
