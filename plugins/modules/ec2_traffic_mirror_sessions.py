#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_traffic_mirror_sessions
short_description: Manage a set of AWS VPC traffic mirror sessions in one task (a resource module)
version_added: 0.1.0
description:
  - Manages many traffic mirror sessions at once, in the shape of Ansible's resource modules -
    O(config) and O(state) - with one paged C(DescribeTrafficMirrorSessions) for the whole scope
    and the plan worked out in the module's process.
  - Each item of O(config) takes the options of M(netmirror.traffic_mirror.ec2_traffic_mirror_session)
    and is diffed by the same planner, so a session gets the same writes from either module.
  - Only the writes the plan needs are sent, concurrently through a bounded pool
    (O(max_concurrency)); each call backs off and retries on C(RequestLimitExceeded). Deletes go
    first, then modifications and tag changes, then creates.
  - Every create carries a client token derived from the desired session (unless the item gives
    O(config[].client_token)), so a retry after a lost response never makes a second session.
  - Every item is validated before any call. A bad item fails the task naming C(config[i]), the field,
    the value and what is allowed, with no request sent.
  - Check mode sends every planned write with C(DryRun=true), concurrently, or nothing at all with
    O(check_mode_dry_run=false).
  - When some writes fail, the task fails, lists in RV(done) and RV(not_done) what was and was not
    done, and RV(after) is read back from AWS. A re-run finishes the rest.
author:
  - netmirror team (@netmirror)
options:
  config:
    description:
      - The sessions, each with the options of M(netmirror.traffic_mirror.ec2_traffic_mirror_session).
      - A session is identified by O(config[].traffic_mirror_session_id), or else by
        O(config[].network_interface_id) and O(config[].session_number).
    type: list
    elements: dict
    default: []
    suboptions:
      traffic_mirror_session_id:
        description: The id (V(tms-...)) of an existing session.
        type: str
      network_interface_id:
        description: The source network interface (V(eni-...)).
        type: str
      traffic_mirror_target_id:
        description: The target (V(tmt-...)). Required to create a session.
        type: str
      traffic_mirror_filter_id:
        description: The filter (V(tmf-...)). Required to create a session.
        type: str
      session_number:
        description: The session number, 1-32766.
        type: int
      packet_length:
        description:
          - Bytes of each packet to mirror, 1-8500; V(0) for the whole packet.
          - Omitted, left alone with V(merged); the whole packet with V(replaced) and V(overridden).
        type: int
      virtual_network_id:
        description: The VXLAN network identifier, 0-16777215. Omitted, AWS's choice is kept.
        type: int
      description:
        description:
          - The description; an empty string removes it.
          - Omitted, left alone with V(merged); removed with V(replaced) and V(overridden).
        type: str
      tags:
        description:
          - The session's tags. Omitted, left alone with V(merged); purged with V(replaced) and V(overridden).
        type: dict
      purge_tags:
        description: With V(merged), whether tags not in O(config[].tags) are removed.
        type: bool
        default: true
      client_token:
        description: The create call's idempotency token; omitted, it is derived from the desired session.
        type: str
  state:
    description:
      - V(merged) creates or updates the listed sessions and leaves every other session alone.
      - V(replaced) makes the listed sessions exactly as given; optional fields left out go back to
        AWS's defaults (whole packet, no description, no tags).
      - V(overridden) makes the sessions in scope exactly O(config); sessions in scope that are not
        listed are deleted. Requires O(scope_filters).
      - V(deleted) deletes the listed sessions, or, with an empty O(config), every session in scope
        (then O(scope_filters) is required).
      - V(gathered) returns the sessions in scope in O(config) shape, changing nothing.
      - V(rendered) returns the requests O(config) would send to an account that has none of its
        sessions, without contacting AWS.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered]
    default: merged
  scope_filters:
    description:
      - Describe filters, in the shape of the C(filters) option of
        M(netmirror.traffic_mirror.ec2_traffic_mirror_session_info) (for example C(tag:team), C(tag-key),
        C(network-interface-id)), that bound the existing sessions this task owns.
        Sessions outside them are never changed, even on the same network interfaces.
      - Omitted, the scope is the sessions O(config) names. V(overridden), and V(deleted) with an
        empty O(config), refuse to run without it, so that a typo never deletes an account's sessions.
    type: dict
    default: {}
  invalid_items:
    description:
      - V(fail) fails the task, before any call, when an item is invalid.
      - V(report) leaves invalid items out of the plan, lists them in RV(invalid), and plans the others
        (for audits, which report every finding). An item that cannot be planned against the sessions found
        (a create without target or filter, an id not in scope) is reported the same way. The session an
        invalid item names is neither in RV(extra) nor deleted. A problem of several items (more than 3 on one
        network interface) still fails the task.
    type: str
    choices: [fail, report]
    default: fail
  max_concurrency:
    description: How many writes are in flight at once, 1-32.
    type: int
    default: 4
  check_mode_dry_run:
    description:
      - In check mode, send every planned write with C(DryRun=true) to prove the credentials allow it.
        C(UnauthorizedOperation) fails the task, and RV(failures) names each missing IAM action.
      - Set V(false) for audits with read-only credentials; check mode then only reads and plans.
    type: bool
    default: true
notes:
  - AWS allows at most 3 sessions per source network interface; more in O(config) fail validation.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Mirror the web tier to the IDS; leave other sessions alone
  netmirror.traffic_mirror.ec2_traffic_mirror_sessions:
    state: merged
    config:
      - network_interface_id: eni-0123456789abcdef0
        session_number: 1
        traffic_mirror_target_id: tmt-0123456789abcdef0
        traffic_mirror_filter_id: tmf-0123456789abcdef0
        packet_length: 128
        tags: {team: secops}
      - network_interface_id: eni-0fedcba9876543210
        session_number: 1
        traffic_mirror_target_id: tmt-0123456789abcdef0
        traffic_mirror_filter_id: tmf-0123456789abcdef0
        tags: {team: secops}

- name: The sessions tagged team=secops become exactly these (others of the team are deleted)
  netmirror.traffic_mirror.ec2_traffic_mirror_sessions:
    state: overridden
    scope_filters:
      "tag:team": secops
    config: "{{ secops_sessions }}"

- name: Audit with read-only credentials (no DryRun calls)
  netmirror.traffic_mirror.ec2_traffic_mirror_sessions:
    state: overridden
    scope_filters:
      "tag:team": secops
    config: "{{ secops_sessions }}"
    check_mode_dry_run: false
  check_mode: true
  register: audit

- name: Read the team's sessions in config shape
  netmirror.traffic_mirror.ec2_traffic_mirror_sessions:
    state: gathered
    scope_filters:
      "tag:team": secops
  register: current

- name: Delete every session of the team
  netmirror.traffic_mirror.ec2_traffic_mirror_sessions:
    state: deleted
    scope_filters:
      "tag:team": secops
"""

RETURN = r"""
before:
  description:
    - The sessions in scope before the task, in the shape of
      M(netmirror.traffic_mirror.ec2_traffic_mirror_session_info).
  returned: unless state is rendered
  type: list
  elements: dict
after:
  description:
    - The sessions in scope after the task. In check mode, the predicted state (sessions to be created have no id).
    - After a partial failure, read back from AWS.
  returned: unless state is rendered or gathered
  type: list
  elements: dict
changes:
  description:
    - One entry per planned write, deletes first, then modifications and tag changes, then creates, each by
      network interface and session number.
    - C(action) is V(create), V(modify), V(delete) or V(tags); C(operation) the boto3 operation; C(request) its
      parameters; C(traffic_mirror_session_id) is absent for a create; C(config_index) the item that asked for it.
  returned: unless state is rendered or gathered
  type: list
  elements: dict
  sample:
    - action: create
      network_interface_id: eni-0123456789abcdef0
      session_number: 1
      operation: create_traffic_mirror_session
      config_index: 0
      request: {NetworkInterfaceId: eni-0123456789abcdef0, SessionNumber: 1}
gathered:
  description: With V(gathered), the sessions in scope in O(config) shape.
  returned: when state is gathered
  type: list
  elements: dict
rendered:
  description: With V(rendered), the writes O(config) would send, in RV(changes)' shape.
  returned: when state is rendered
  type: list
  elements: dict
missing:
  description: The O(config) items that have no session yet (each is created).
  returned: unless state is rendered or gathered
  type: list
  elements: dict
missing_indexes:
  description:
    - The indexes in O(config) of the items that have no session, including, with O(invalid_items=report),
      the invalid items whose network interface and session number have none.
  returned: unless state is rendered or gathered
  type: list
  elements: int
invalid:
  description:
    - With O(invalid_items=report), the invalid items (C(config_index), C(network_interface_id),
      C(session_number), C(messages)), left out of the plan.
  returned: unless state is rendered or gathered
  type: list
  elements: dict
extra:
  description:
    - The sessions in scope that no item names. V(overridden), and V(deleted) with an empty O(config),
      delete them; V(merged) and V(replaced) leave them alone.
  returned: unless state is rendered or gathered
  type: list
  elements: dict
drifted:
  description:
    - The existing sessions that differ from their item, field by field
      (C({network_interface_id, session_number, traffic_mirror_session_id, changes{field{actual, desired}}})).
  returned: unless state is rendered or gathered
  type: list
  elements: dict
failures:
  description:
    - The writes (or dry runs) that failed, each with C(action), C(network_interface_id), C(session_number),
      C(iam_action), C(error_code) and C(message).
  returned: unless state is rendered or gathered
  type: list
  elements: dict
done:
  description: The changes that were carried out (in check mode, that the dry runs allowed).
  returned: unless state is rendered or gathered
  type: list
  elements: dict
not_done:
  description: The changes that failed or were not sent because an earlier phase failed.
  returned: unless state is rendered or gathered
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils import tm_session_set as sessions_plan
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_all
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ec2_client
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_batch import run_phases
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import snake_resource
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import fail_on_errors
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import finish
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import start
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_session_plan import session_options

PAGE_SIZE = 1000
MAX_CONCURRENCY_RANGE = (1, 32)

# Each item: ec2_traffic_mirror_session's options (one argument spec for both modules), its tags and token.
SESSION_OPTIONS = dict(
    session_options(),
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=True),
    client_token=dict(type="str", no_log=False),
)


def option_errors(params):
    """(fatal messages, {config index: [messages]} of the items invalid_items=report leaves out)."""
    problems = sessions_plan.item_problems(params["config"])
    report = params["invalid_items"] == "report"
    errors = [message for index, message in problems if index is None or not report]
    invalid = {}
    for index, message in problems:
        if index is not None and report:
            invalid.setdefault(index, []).append(message)
    low, high = MAX_CONCURRENCY_RANGE
    if not low <= params["max_concurrency"] <= high:
        errors.append(
            "max_concurrency={0} is out of range: allowed {1}-{2}.".format(params["max_concurrency"], low, high)
        )
    state, scope = params["state"], params["scope_filters"]
    if not scope and (state == "overridden" or (state == "deleted" and not params["config"])):
        what = "state=overridden" if state == "overridden" else "state=deleted with an empty config"
        errors.append(
            "{0} deletes every session in scope, and scope_filters is empty: give scope_filters (for example "
            "{{'tag:team': 'secops'}}) that bound the sessions this task owns.".format(what)
        )
    return errors, invalid


def invalid_report(config, invalid, current):
    """The invalid items, and the indexes of those whose slot has no session."""
    slots = {sessions_plan.session_slot(s) for s in current}
    entries, absent = [], []
    for index in sorted(invalid):
        item = config[index]
        entries.append(
            dict(
                config_index=index,
                network_interface_id=item.get("network_interface_id"),
                session_number=item.get("session_number"),
                messages=invalid[index],
            )
        )
        if item.get("network_interface_id") and item.get("session_number") is not None:
            if sessions_plan.slot(item["network_interface_id"], item["session_number"]) not in slots:
                absent.append(index)
    return entries, absent


def held_identities(config, invalid):
    """The sessions the invalid items (left out of the plan) name: never extra, never deleted."""
    held = []
    for index in invalid:
        item = config[index]
        if item.get("traffic_mirror_session_id"):
            held.append(item["traffic_mirror_session_id"])
        if item.get("network_interface_id") and item.get("session_number") is not None:
            held.append(sessions_plan.slot(item["network_interface_id"], item["session_number"]))
    return held


def read_scope(module, client, config):
    """The sessions in scope: one paged Describe (scope_filters, or every session when there are none)."""
    scope = module.params["scope_filters"]
    request = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
    if scope:
        request["Filters"] = ansible_dict_to_boto3_filter_list(scope)
    found = describe_all(
        module,
        client,
        "describe_traffic_mirror_sessions",
        "TrafficMirrorSessions",
        "describing the traffic mirror sessions in scope",
        **request,
    )
    if scope:
        return found
    # No scope_filters: the task owns only the sessions its items name.
    named = {sessions_plan.identity(item) for item in config if item is not None}
    return [s for s in found if s["TrafficMirrorSessionId"] in named or sessions_plan.session_slot(s) in named]


def nlb_targets(module, client, target_ids):
    if not target_ids:
        return []
    targets = describe_all(
        module,
        client,
        "describe_traffic_mirror_targets",
        "TrafficMirrorTargets",
        "describing the sessions' targets",
        TrafficMirrorTargetIds=target_ids,
    )
    return [t["TrafficMirrorTargetId"] for t in targets if t.get("Type") == "network-load-balancer"]


def view(sessions):
    return [snake_resource(s) for s in sorted(sessions, key=sort_key)]


def sort_key(session):
    return (session.get("NetworkInterfaceId", ""), session.get("SessionNumber", 0))


def predicted_after(predicted, outcomes):
    """The sessions as they are now: created and modified ones as AWS answered."""
    after = dict(predicted)
    for change, outcome in outcomes:
        response = (outcome or {}).get("response") or {}
        session = response.get("TrafficMirrorSession")
        if not session:
            continue
        if change["action"] == "create":
            after[sessions_plan.slot(session["NetworkInterfaceId"], session["SessionNumber"])] = session
        elif change["action"] == "modify":
            tags = after.get(session["TrafficMirrorSessionId"], {}).get("Tags", session.get("Tags"))
            after[session["TrafficMirrorSessionId"]] = dict(session, Tags=tags or [])
    return list(after.values())


def main():
    argument_spec = dict(
        config=dict(type="list", elements="dict", default=[], options=SESSION_OPTIONS),
        state=dict(
            type="str",
            default="merged",
            choices=["merged", "replaced", "overridden", "deleted", "gathered", "rendered"],
        ),
        scope_filters=dict(type="dict", default={}),
        max_concurrency=dict(type="int", default=4),
        invalid_items=dict(type="str", default="fail", choices=["fail", "report"]),
        check_mode_dry_run=dict(type="bool", default=True),
    )
    module = start(argument_spec, write_options=False)
    params = module.params
    config, state = params["config"], params["state"]

    errors, invalid = option_errors(params)
    fail_on_errors(module, errors)
    valid_config = [None if index in invalid else item for index, item in enumerate(config)]

    if state == "rendered":
        module.exit_json(changed=False, rendered=sessions_plan.rendered(config, "merged"))

    client = ec2_client(module)
    current = read_scope(module, client, valid_config)
    before = view(current)
    if state == "gathered":
        gathered = [sessions_plan.gathered_item(s) for s in sorted(current, key=sort_key)]
        module.exit_json(changed=False, gathered=gathered, before=before)

    nlb = nlb_targets(module, client, sessions_plan.needed_target_types(valid_config, current, state))
    planned = sessions_plan.plan_set(valid_config, current, state, nlb, held_identities(config, invalid))
    if planned["errors"] and params["invalid_items"] == "report":
        # Items that cannot be planned against what is there (a create without target, say) are reported too.
        for index, message in zip(planned["error_indexes"], planned["errors"]):
            invalid.setdefault(index, []).append(message)
        valid_config = [None if index in invalid else item for index, item in enumerate(config)]
        planned = sessions_plan.plan_set(valid_config, current, state, nlb, held_identities(config, invalid))
    invalid_entries, invalid_absent = invalid_report(config, invalid, current)
    report = dict(
        before=before,
        changes=planned["changes"],
        missing=planned["missing"],
        missing_indexes=sorted(planned["missing_indexes"] + invalid_absent),
        invalid=invalid_entries,
        extra=view(planned["extra"]),
        drifted=planned["drifted"],
    )
    if planned["errors"]:
        module.fail_json(
            msg=" ".join(planned["errors"]) + " Nothing was changed.",
            errors=planned["errors"],
            after=before,
            failures=[],
            done=[],
            not_done=planned["changes"],
            **report,
        )

    outcomes = run_phases(
        client,
        planned["changes"],
        sessions_plan.PHASES,
        module.check_mode,
        params["check_mode_dry_run"],
        params["max_concurrency"],
    )
    done = [c for c, o in outcomes if o is not None and o["ok"]]
    not_done = [c for c, o in outcomes if o is None or not o["ok"]]
    failures = [o["failure"] for _change, o in outcomes if o is not None and not o["ok"]]
    if failures and not module.check_mode:
        after = view(read_scope(module, client, valid_config))  # what is really there
    else:
        after = view(predicted_after(planned["predicted"], outcomes))
    result = dict(report, after=after, done=done, not_done=not_done, failures=failures)
    changed = bool(planned["changes"]) and (bool(done) or module.check_mode)
    if failures:
        module.fail_json(
            msg="{0} of {1} planned writes failed, {2} done, {3} not done: {4}".format(
                len(failures), len(outcomes), len(done), len(not_done), " ".join(f["message"] for f in failures[:5])
            )
            + (" (and {0} more)".format(len(failures) - 5) if len(failures) > 5 else ""),
            changed=changed,
            **result,
        )
    finish(module, changed, (before, after), **result)


if __name__ == "__main__":
    main()
