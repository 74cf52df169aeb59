#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_session
short_description: Create, modify and delete AWS VPC traffic mirror sessions
version_added: 0.1.0
description:
  - Manages an Amazon VPC Traffic Mirroring session, which copies the traffic of a network interface
    (the source) to a traffic mirror target (a network interface, a Network Load Balancer or a Gateway
    Load Balancer endpoint) as VXLAN, selected by a traffic mirror filter.
  - A session is found by O(traffic_mirror_session_id), or else by O(network_interface_id) together
    with O(session_number) (a session number is unique on its network interface).
  - An existing session is reconciled in place with a single C(ModifyTrafficMirrorSession) call that
    carries only what differs. Options left out are left alone; in particular an omitted
    O(virtual_network_id) never differs from the one AWS chose.
  - Check mode is a real dry run. The module reads the current state, plans the writes, and sends
    each planned write with C(DryRun=true), which proves that the credentials are allowed to make it
    without changing anything. See O(check_mode_dry_run).
  - A create is safe to retry. Unless O(client_token) is given, the client token is derived from the
    desired session, so a retry after an ambiguous failure, or a re-run while C(Describe) still lags
    behind the create, returns the session already made instead of making a second one.
author:
  - netmirror team (@netmirror)
options:
  state:
    description:
      - V(present) creates the session or brings it to the given options; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  traffic_mirror_session_id:
    description:
      - The id (V(tms-...)) of an existing session. When given, it identifies the session, and
        O(session_number) may change the session's number.
      - A new session gets its id from AWS; to create one, omit this and give O(network_interface_id)
        and O(session_number).
    type: str
    aliases: [session_id]
  network_interface_id:
    description:
      - The source network interface (V(eni-...)) whose traffic is mirrored.
      - Required to create a session. A session cannot move to another network interface.
    type: str
  traffic_mirror_target_id:
    description:
      - The traffic mirror target (V(tmt-...)) that receives the copies. Required to create a session;
        changed in place on an existing one.
    type: str
  traffic_mirror_filter_id:
    description:
      - The traffic mirror filter (V(tmf-...)) that selects what is mirrored. Required to create a
        session; changed in place on an existing one.
    type: str
  session_number:
    description:
      - The session number, 1-32766. When several sessions share a source network interface, AWS
        evaluates them in ascending session number and mirrors a packet at most once.
      - Required, with O(network_interface_id), when O(traffic_mirror_session_id) is not given.
    type: int
  packet_length:
    description:
      - The number of bytes of each packet to mirror, counted from the start of the inner Ethernet
        frame, 1-8500. Longer packets are truncated.
      - V(0) means the whole packet (AWS's default). On an existing session it removes the packet
        length (C(RemoveFields=packet-length)), which is the only way back to whole-packet mirroring.
      - Omitted, an existing session's packet length is left alone.
    type: int
  virtual_network_id:
    description:
      - The VXLAN network identifier (VNI) of the copies, 0-16777215.
      - Omitted at create, AWS picks a random one unique in the account; omitted later, the session's
        VNI is left alone.
    type: int
  description:
    description:
      - The session's description. An empty string removes it (C(RemoveFields=description)).
    type: str
notes:
  - AWS allows at most 3 sessions per source network interface, and does not offer traffic mirroring on
    bare metal and on many instance types. For those hosts, the
    R(netmirror.traffic_mirror.mirror_agent role,ansible_collections.netmirror.traffic_mirror.mirror_agent_role)
    sends the same VXLAN stream from the host's kernel.
  - With O(purge_tags=true) (the default), tags not in O(tags) are removed, except the C(aws:) tags
    that AWS reserves. O(tags) omitted leaves the tags alone.
  - For the AWS CLI's C(--cli-input-json) use a vars file and pass its keys as options; for
    C(--generate-cli-skeleton) read C(ansible-doc netmirror.traffic_mirror.ec2_traffic_mirror_session);
    for C(--dry-run) run the task in check mode.
extends_documentation_fragment:
  - netmirror.traffic_mirror.writes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Mirror a web server's interface to the IDS, first 128 bytes of each packet
  netmirror.traffic_mirror.ec2_traffic_mirror_session:
    network_interface_id: eni-0123456789abcdef0
    session_number: 1
    traffic_mirror_target_id: tmt-0123456789abcdef0
    traffic_mirror_filter_id: tmf-0123456789abcdef0
    packet_length: 128
    virtual_network_id: 4242
    description: web-1 to suricata
    tags:
      Name: web-1-to-ids
      team: secops

- name: Go back to mirroring whole packets
  netmirror.traffic_mirror.ec2_traffic_mirror_session:
    network_interface_id: eni-0123456789abcdef0
    session_number: 1
    packet_length: 0

- name: Move a session to another target and renumber it, found by id
  netmirror.traffic_mirror.ec2_traffic_mirror_session:
    traffic_mirror_session_id: tms-0123456789abcdef0
    traffic_mirror_target_id: tmt-0fedcba9876543210
    session_number: 2

- name: Audit with read-only credentials (check mode, no DryRun calls)
  netmirror.traffic_mirror.ec2_traffic_mirror_session:
    network_interface_id: eni-0123456789abcdef0
    session_number: 1
    traffic_mirror_target_id: tmt-0123456789abcdef0
    traffic_mirror_filter_id: tmf-0123456789abcdef0
    check_mode_dry_run: false
  check_mode: true

- name: Delete the session
  netmirror.traffic_mirror.ec2_traffic_mirror_session:
    network_interface_id: eni-0123456789abcdef0
    session_number: 1
    state: absent
"""

RETURN = r"""
traffic_mirror_session:
  description:
    - The session after the task. In check mode, the session as it would be; a session that would be
      created has no id yet.
    - Empty after V(state=absent).
  returned: always
  type: dict
  contains:
    traffic_mirror_session_id:
      description: The session id.
      type: str
      sample: tms-0123456789abcdef0
    network_interface_id:
      description: The source network interface.
      type: str
      sample: eni-0123456789abcdef0
    traffic_mirror_target_id:
      description: The target.
      type: str
      sample: tmt-0123456789abcdef0
    traffic_mirror_filter_id:
      description: The filter.
      type: str
      sample: tmf-0123456789abcdef0
    session_number:
      description: The session number.
      type: int
      sample: 1
    packet_length:
      description: Bytes mirrored of each packet; absent or null when whole packets are mirrored.
      type: int
      sample: 128
    virtual_network_id:
      description: The VXLAN network identifier of the copies.
      type: int
      sample: 4242
    description:
      description: The description.
      type: str
      sample: web-1 to suricata
    owner_id:
      description: The account that owns the session.
      type: str
      sample: "123456789012"
    tags:
      description: The tags, as a dict.
      type: dict
      sample: {"Name": "web-1-to-ids"}
"""

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import tm_session_plan as plan
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import GONE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_once
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ec2_client
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import write
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import session_view
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import snake_resource
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import STATE_OPTION
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import TAG_OPTIONS
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import finish
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import start
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import session_parameter_errors
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_tags import send_tag_requests


def parameter_errors(params):
    """Every problem of the options, before anything is sent (the checks ec2_traffic_mirror_sessions makes too)."""
    return session_parameter_errors(params) + [e for e in [plan.identity_error(params)] if e]


def find_session(module, client):
    """The one session the task is about, or None. One Describe call."""
    params = module.params
    if params["traffic_mirror_session_id"]:
        request = {"TrafficMirrorSessionIds": [params["traffic_mirror_session_id"]]}
        described = "traffic mirror session {0}".format(params["traffic_mirror_session_id"])
    else:
        request = {
            "Filters": [
                {"Name": "network-interface-id", "Values": [params["network_interface_id"]]},
                {"Name": "session-number", "Values": [str(params["session_number"])]},
            ]
        }
        described = "the traffic mirror session number {0} of {1}".format(
            params["session_number"], params["network_interface_id"]
        )
    sessions = describe_once(
        module,
        client,
        "describe_traffic_mirror_sessions",
        "TrafficMirrorSessions",
        "describing " + described,
        "session",
        **request,
    )
    if len(sessions) > 1:
        module.fail_json(
            msg="More than one session matches {0}: {1}. Name one with traffic_mirror_session_id.".format(
                described, ", ".join(sorted(s["TrafficMirrorSessionId"] for s in sessions))
            )
        )
    return sessions[0] if sessions else None


def create_session(module, client):
    params = module.params
    if params["traffic_mirror_session_id"]:
        module.fail_json(
            msg="traffic_mirror_session_id={0!r} does not exist. A new session gets its id from AWS: omit "
            "traffic_mirror_session_id and give network_interface_id and session_number to create one.".format(
                params["traffic_mirror_session_id"]
            )
        )
    cannot_create = plan.create_error(params)
    if cannot_create:
        module.fail_json(msg=cannot_create[0].upper() + cannot_create[1:])
    request = plan.create_request(params)
    doing = "creating traffic mirror session number {0} on {1}".format(
        params["session_number"], params["network_interface_id"]
    )
    response = write(module, client, "create_traffic_mirror_session", doing, **request)
    if response is None:  # check mode: the session as it would be
        return plan.created_view(request)
    return response["TrafficMirrorSession"]


def is_whole_packet(module, client, current):
    """Whether the session already mirrors whole packets.

    No packet length means whole packets; so does 8500 on a session to a Network Load Balancer,
    which AWS sets as that target's default (and sets again after RemoveFields). Only in that one
    ambiguous case does the module spend a Describe call on the target's type.
    """
    if current.get("PacketLength") != plan.NLB_DEFAULT_PACKET_LENGTH:
        return plan.mirrors_whole_packets(current, False)
    target_id = current["TrafficMirrorTargetId"]
    targets = describe_once(
        module,
        client,
        "describe_traffic_mirror_targets",
        "TrafficMirrorTargets",
        "describing the session's target " + target_id,
        TrafficMirrorTargetIds=[target_id],
    )
    return any(t.get("Type") == "network-load-balancer" for t in targets)


def update_session(module, client, current):
    """The writes of the shared planner (tm_session_plan.plan_update), in its order. Returns (changed, session)."""
    params = module.params
    session_id = current["TrafficMirrorSessionId"]
    cannot_move = plan.interface_move_error(params, current)
    if cannot_move:
        module.fail_json(msg=cannot_move[0].upper() + cannot_move[1:])
    whole_packet = params["packet_length"] == plan.WHOLE_PACKET and is_whole_packet(module, client, current)
    update = plan.plan_update(params, current, whole_packet)
    session = update["after"]
    if update["modify"]:
        response = write(module, client, "modify_traffic_mirror_session", "modifying " + session_id, **update["modify"])
        if response:  # the session as AWS answers, with the tags as they are once the tag calls are done
            session = dict(response["TrafficMirrorSession"], Tags=session["Tags"])
    send_tag_requests(module, client, session_id, update["untag"], update["tag"])
    return any(update[step] for step in ("modify", "untag", "tag")), session


def delete_session(module, client, current):
    session_id = current["TrafficMirrorSessionId"]
    response = write(
        module,
        client,
        "delete_traffic_mirror_session",
        "deleting " + session_id,
        gone_if_not_found="session",
        TrafficMirrorSessionId=session_id,
    )
    return response is not GONE


def main():
    argument_spec = dict(STATE_OPTION, **plan.session_options(), **TAG_OPTIONS)
    argument_spec["traffic_mirror_session_id"]["aliases"] = ["session_id"]
    module = start(argument_spec, parameter_errors)

    client = ec2_client(module)
    current = find_session(module, client)
    if module.params["state"] == "absent":
        changed, session = bool(current) and delete_session(module, client, current), None
    elif current is None:
        changed, session = True, create_session(module, client)
    else:
        changed, session = update_session(module, client, current)

    finish(
        module,
        changed,
        (session_view(current) if current else {}, session_view(session) if session else {}),
        traffic_mirror_session=snake_resource(session) if session else {},
    )


if __name__ == "__main__":
    main()
