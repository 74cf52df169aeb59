# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The session planner: what differs between a desired session and the one AWS has. Pure: no client.

ec2_traffic_mirror_session and ec2_traffic_mirror_sessions both plan with these functions, so a session is
diffed the same way by both. A desired session is a dict in ec2_traffic_mirror_session's option shape
(snake_case, absent options None); a current session is AWS's CamelCase TrafficMirrorSession.
"""

from __future__ import annotations

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications
from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import derived_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import INT_FIELDS
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import SESSION_OPTION_FIELDS
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import tags_of
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import tag_requests

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
# The options a CreateTrafficMirrorSession call carries, all but the id (snake_dict_to_camel_dict names them).
CREATE_OPTIONS = SESSION_OPTION_FIELDS[1:]


def session_options():
    """The argument spec of one session: ec2_traffic_mirror_session's own options, and each config item's."""
    return {field: dict(type="int" if field in INT_FIELDS else "str") for field in SESSION_OPTION_FIELDS}


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


def identity_error(item):
    """What is missing to identify a session, or None."""
    if item.get("traffic_mirror_session_id") or (
        item.get("network_interface_id") and item.get("session_number") is not None
    ):
        return None
    return (
        "traffic_mirror_session_id, or network_interface_id together with session_number, is required to "
        "identify the session (got network_interface_id={0!r}, session_number={1!r}).".format(
            item.get("network_interface_id"), item.get("session_number")
        )
    )


def create_error(desired):
    """Why `desired` cannot be created (a target or filter missing), or None."""
    lacking = missing_for_create(desired)
    if not lacking:
        return None
    return "creating session number {0} on {1} requires {2}.".format(
        desired["session_number"], desired["network_interface_id"], " and ".join(lacking)
    )


def interface_move_error(desired, current):
    """The session would have to move to another network interface, which AWS cannot do: the message, or None."""
    wanted = desired.get("network_interface_id")
    if not wanted or wanted == current["NetworkInterfaceId"]:
        return None
    return (
        "session {0} mirrors {1}; network_interface_id={2!r} differs, but a session cannot move to another network "
        "interface. Delete it and create a new session on {2}.".format(
            current["TrafficMirrorSessionId"], current["NetworkInterfaceId"], wanted
        )
    )


def needs_target_type(desired, current):
    """Whether whole-packet planning needs the target's type: packet length 0 wanted, 8500 there."""
    return desired.get("packet_length") == WHOLE_PACKET and current.get("PacketLength") == NLB_DEFAULT_PACKET_LENGTH


def mirrors_whole_packets(current, target_is_nlb):
    """No packet length means whole packets; so does 8500 on a session to a Network Load Balancer."""
    length = current.get("PacketLength")
    return length is None or (length == NLB_DEFAULT_PACKET_LENGTH and bool(target_is_nlb))


def create_request(desired):
    """The CreateTrafficMirrorSession parameters of a desired session, with its client_token or else one derived
    from the other parameters (tm_api.derived_client_token: the same desired session, the same token)."""
    fields = {option: desired.get(option) for option in CREATE_OPTIONS}
    if fields["packet_length"] == WHOLE_PACKET:
        fields["packet_length"] = None  # AWS's default: no packet length
    if fields["description"] == NO_DESCRIPTION:
        fields["description"] = None
    request = snake_dict_to_camel_dict(scrub_none_parameters(fields), capitalize_first=True)
    if desired.get("tags"):
        request["TagSpecifications"] = boto3_tag_specifications(desired["tags"], types=["traffic-mirror-session"])
    request["ClientToken"] = desired.get("client_token") or derived_client_token("traffic-mirror-session", request)
    return request


def missing_for_create(desired):
    return [name for name in ("traffic_mirror_target_id", "traffic_mirror_filter_id") if not desired.get(name)]


def created_view(request):
    """The session a create request makes, as far as it is known before AWS answers (no id yet)."""
    planned = {k: v for k, v in request.items() if k not in ("ClientToken", "TagSpecifications")}
    tags = {}
    for spec in request.get("TagSpecifications", []):
        tags.update(boto3_tag_list_to_ansible_dict(spec["Tags"]))
    planned["Tags"] = ansible_dict_to_boto3_tag_list(tags)
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


def with_tags(session, tags):
    return dict(session, Tags=ansible_dict_to_boto3_tag_list(tags))


def plan_update(desired, current, whole_packet):
    """The writes that bring an existing session to `desired`, in the order they are sent, and the session after.

    Returns dict(modify, untag, tag, after): the ModifyTrafficMirrorSession, DeleteTags and CreateTags requests
    (each None when nothing differs) and the session as it is once they succeed. `whole_packet` as for
    modification(). Both session modules send exactly these.
    """
    modify = modification(desired, current, whole_packet)
    after = apply_modification(current, modify) if modify else current
    untag, tag, tags = tag_requests(
        current["TrafficMirrorSessionId"], tags_of(current), desired.get("tags"), desired.get("purge_tags", True)
    )
    return dict(modify=modify, untag=untag, tag=tag, after=with_tags(after, tags))


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
