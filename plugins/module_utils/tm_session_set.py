# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Planning a set of sessions (ec2_traffic_mirror_sessions): validation, matching and the list of writes. Pure.

Each session is diffed by tm_session_plan, the planner ec2_traffic_mirror_session uses too.
"""

from __future__ import annotations

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import tm_session_plan as plan
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import tags_of
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import session_parameter_errors

SESSIONS_PER_INTERFACE = 3
# Writes run in phases: deletes free the slots (3 per interface) that creates and renumberings may need.
PHASES = (("delete",), ("modify", "tags"), ("create",))
OPERATIONS = {
    "create": "create_traffic_mirror_session",
    "modify": "modify_traffic_mirror_session",
    "delete": "delete_traffic_mirror_session",
}
ACTION_ORDER = {"delete": 0, "modify": 1, "tags": 2, "create": 3}
# A session's tag calls in the order tm_session_plan.plan_update gives them (and ec2_traffic_mirror_session sends).
TAG_OPERATION_ORDER = {"delete_tags": 0, "create_tags": 1}


def slot(network_interface_id, session_number):
    return "{0} #{1}".format(network_interface_id, session_number)


def validation_errors(config):
    """Every problem of every item, each naming config[i], the field, the value and what is allowed."""
    return [message for _index, message in item_problems(config)]


def item_problems(config):
    """[(index of the item, or None for a problem of several items, message)]."""
    errors = []
    seen = {}
    per_interface = {}
    for index, item in enumerate(config):
        where = "config[{0}]".format(index)
        errors.extend((index, "{0}.{1}".format(where, message)) for message in session_parameter_errors(item))
        missing_identity = plan.identity_error(item)
        if missing_identity:
            errors.append((index, "{0}: {1}".format(where, missing_identity)))
            continue
        key = identity(item)
        if key in seen:
            errors.append(
                (
                    index,
                    "{0} names the same session as config[{1}] ({2}); each session may be listed once.".format(
                        where, seen[key], key
                    ),
                )
            )
        seen.setdefault(key, index)
        if item.get("network_interface_id"):
            per_interface.setdefault(item["network_interface_id"], []).append(index)
    for eni, indexes in sorted(per_interface.items()):
        if len(indexes) > SESSIONS_PER_INTERFACE:
            errors.append(
                (
                    None,
                    "{0} sessions on network_interface_id={1!r} ({2}): AWS allows at most {3} per network interface; "
                    "use the netmirror.traffic_mirror.mirror_agent role for more.".format(
                        len(indexes), eni, ", ".join("config[{0}]".format(i) for i in indexes), SESSIONS_PER_INTERFACE
                    ),
                )
            )
    return errors


def identity(item):
    if item.get("traffic_mirror_session_id"):
        return item["traffic_mirror_session_id"]
    return slot(item["network_interface_id"], item["session_number"])


def session_slot(session):
    return slot(session["NetworkInterfaceId"], session["SessionNumber"])


def match(config, sessions):
    """[(index, item, current session or None)] and the sessions no item names."""
    by_id = {s["TrafficMirrorSessionId"]: s for s in sessions}
    by_slot = {session_slot(s): s for s in sessions}
    matched, claimed = [], set()
    for index, item in enumerate(config):
        if item is None:  # an invalid item left out (invalid_items=report)
            continue
        if item.get("traffic_mirror_session_id"):
            current = by_id.get(item["traffic_mirror_session_id"])
        else:
            current = by_slot.get(identity(item))
        if current is not None:
            claimed.add(current["TrafficMirrorSessionId"])
        matched.append((index, item, current))
    unclaimed = [s for s in sessions if s["TrafficMirrorSessionId"] not in claimed]
    return matched, unclaimed


def needed_target_types(config, sessions, state):
    """The target ids whose type the plan needs (sessions at 8500 bytes that should mirror whole packets)."""
    matched = match(config, sessions)[0]
    ids = set()
    for _index, item, current in matched:
        desired = plan.replaced(item) if state in ("replaced", "overridden") else item
        if current is not None and plan.needs_target_type(desired, current):
            ids.add(current["TrafficMirrorTargetId"])
    return sorted(ids)


def _change(action, session, request, index=None, operation=None):
    change = {
        "action": action,
        "network_interface_id": session.get("NetworkInterfaceId"),
        "session_number": session.get("SessionNumber"),
        "operation": operation or OPERATIONS[action],
        "request": request,
    }
    if session.get("TrafficMirrorSessionId"):
        change["traffic_mirror_session_id"] = session["TrafficMirrorSessionId"]
    if index is not None:
        change["config_index"] = index
    return change


def plan_set(config, sessions, state, nlb_target_ids=(), held=()):
    """The writes that bring the sessions in scope to `config` under `state`, and what the audit reports.

    Returns dict(changes, errors, error_indexes, predicted, missing, extra, drifted): `predicted` maps each session
    key (id, or slot for a session to create) to the session as it will be; `errors` are problems found only now
    that the current sessions are known (a create without target or filter, an id not in scope), before any write,
    and `error_indexes` the item of each. `held` are the identities (id or slot) of items left out of the plan
    (invalid_items=report): their sessions are neither extra nor deleted.
    """
    nlb = set(nlb_target_ids)
    matched, unclaimed = match(config, sessions)
    held = set(held)
    unclaimed = [s for s in unclaimed if s["TrafficMirrorSessionId"] not in held and session_slot(s) not in held]
    changes, errors, error_indexes, missing, missing_indexes, drifted = [], [], [], [], [], []
    predicted = {s["TrafficMirrorSessionId"]: s for s in sessions}
    for index, item, current in matched:
        where = "config[{0}]".format(index)
        if state == "deleted":
            if current is not None:
                changes.append(_delete(current, index))
                predicted.pop(current["TrafficMirrorSessionId"])
            continue
        desired = plan.replaced(item) if state in ("replaced", "overridden") else item
        if current is None:
            if item.get("traffic_mirror_session_id"):
                error_indexes.append(index)
                errors.append(
                    "{0}: traffic_mirror_session_id={1!r} is not among the sessions in scope; a new session gets "
                    "its id from AWS, so give network_interface_id and session_number to create one.".format(
                        where, item["traffic_mirror_session_id"]
                    )
                )
                continue
            cannot_create = plan.create_error(desired)
            if cannot_create:
                error_indexes.append(index)
                errors.append("{0}: {1}".format(where, cannot_create))
                continue
            request = plan.create_request(desired)
            changes.append(_change("create", request_session(request), request, index))
            predicted[identity(item)] = plan.created_view(request)
            missing.append(item)
            missing_indexes.append(index)
            continue
        cannot_move = plan.interface_move_error(item, current)
        if cannot_move:
            error_indexes.append(index)
            errors.append("{0}: {1}".format(where, cannot_move))
            continue
        whole = plan.mirrors_whole_packets(current, current.get("TrafficMirrorTargetId") in nlb)
        session_id = current["TrafficMirrorSessionId"]
        update = plan.plan_update(desired, current, whole)
        if update["modify"]:
            changes.append(_change("modify", current, update["modify"], index))
        if update["untag"]:
            changes.append(_change("tags", current, update["untag"], index, operation="delete_tags"))
        if update["tag"]:
            changes.append(_change("tags", current, update["tag"], index, operation="create_tags"))
        predicted[session_id] = update["after"]
        fields = plan.drift(desired, current, whole)
        if fields:
            drifted.append(
                {
                    "network_interface_id": current["NetworkInterfaceId"],
                    "session_number": current["SessionNumber"],
                    "traffic_mirror_session_id": session_id,
                    "changes": fields,
                }
            )
    extra = [] if state == "deleted" and config else list(unclaimed)
    if state == "overridden" or (state == "deleted" and not config):
        for session in unclaimed:
            changes.append(_delete(session))
            predicted.pop(session["TrafficMirrorSessionId"])
    changes.sort(key=change_order)
    return dict(
        changes=changes,
        errors=errors,
        error_indexes=error_indexes,
        predicted=predicted,
        missing=missing,
        missing_indexes=missing_indexes,
        extra=extra,
        drifted=drifted,
    )


def request_session(request):
    return {"NetworkInterfaceId": request["NetworkInterfaceId"], "SessionNumber": request["SessionNumber"]}


def _delete(session, index=None):
    return _change("delete", session, {"TrafficMirrorSessionId": session["TrafficMirrorSessionId"]}, index)


def change_order(change):
    return (
        ACTION_ORDER[change["action"]],
        change["network_interface_id"] or "",
        change["session_number"] or 0,
        TAG_OPERATION_ORDER.get(change["operation"], 0),
    )


def rendered(config, state):
    """The requests `config` would send against an account that has none of its sessions (no AWS call)."""
    requests = []
    for index, item in enumerate(config):
        desired = plan.replaced(item) if state in ("replaced", "overridden") else item
        if state == "deleted":
            if item.get("traffic_mirror_session_id"):
                requests.append(_delete({"TrafficMirrorSessionId": item["traffic_mirror_session_id"]}, index))
            continue
        if item.get("traffic_mirror_session_id"):
            fields = {field: desired[option] for option, field in plan.MODIFIABLE_FIELDS if desired.get(option)}
            fields["TrafficMirrorSessionId"] = item["traffic_mirror_session_id"]
            requests.append(_change("modify", {"TrafficMirrorSessionId": item["traffic_mirror_session_id"]}, fields))
            continue
        request = plan.create_request(desired)
        requests.append(_change("create", request_session(request), request, index))
    return requests


def gathered_item(session):
    """A session in `config` shape: fed back with state=merged, it plans no change."""
    return {
        "traffic_mirror_session_id": session["TrafficMirrorSessionId"],
        "network_interface_id": session["NetworkInterfaceId"],
        "session_number": session["SessionNumber"],
        "traffic_mirror_target_id": session["TrafficMirrorTargetId"],
        "traffic_mirror_filter_id": session["TrafficMirrorFilterId"],
        "packet_length": session.get("PacketLength", plan.WHOLE_PACKET),
        "virtual_network_id": session.get("VirtualNetworkId"),
        "description": session.get("Description", plan.NO_DESCRIPTION),
        "tags": tags_of(session),
    }
