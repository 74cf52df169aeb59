# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Sending many planned writes through a small bounded pool of threads, in phases.

Each call goes through the module's retrying client (aws_retry=True: AWSRetry's jittered backoff on
RequestLimitExceeded and server errors). In check mode each write is sent with DryRun=true, or not at all with
check_mode_dry_run=false. A failed write never stops the others of its phase; the next phase does not start.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import DRY_RUN_ALLOWED
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import DRY_RUN_IGNORED
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import GONE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import UNAUTHORIZED
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import aws_error_message
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import call
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import dry_run_denied_message
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import dry_run_outcome
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import error_code
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import iam_action
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ignored_dry_run_message


def describe_change(change):
    what = {
        "create": "creating",
        "modify": "modifying",
        "delete": "deleting",
        "tags": "removing tags from" if change["operation"] == "delete_tags" else "tagging",
    }[change["action"]]
    session = change.get("traffic_mirror_session_id") or "session number {0} on {1}".format(
        change["session_number"], change["network_interface_id"]
    )
    if change["action"] == "create":
        session = "traffic mirror session number {0} on {1}".format(
            change["session_number"], change["network_interface_id"]
        )
    return "{0} {1}".format(what, session)


def send(client, change, check_mode, dry_run):
    """One write (through tm_api.call: amazon.aws's error handler, a delete of a gone session is done). Returns
    dict(ok, response, failure); never raises for AWS errors."""
    operation, request = change["operation"], change["request"]
    doing = describe_change(change)
    gone_kind = "session" if change["action"] == "delete" else None
    if check_mode and not dry_run:
        return dict(ok=True, response=None)
    if check_mode:
        outcome = dry_run_outcome(client, operation, doing, gone_kind, **request)
        if outcome == DRY_RUN_ALLOWED:
            return dict(ok=True, response=None)
        if outcome is GONE:
            return dict(ok=True, response=None, gone=True)
        if outcome == DRY_RUN_IGNORED:
            return dict(ok=False, failure=_failure(change, None, ignored_dry_run_message(operation)))
        if error_code(outcome.exception) == UNAUTHORIZED:
            message = dry_run_denied_message(operation, doing)
        else:
            message = aws_error_message(outcome.exception, doing + " (check mode dry run)")
        return dict(ok=False, failure=_failure(change, outcome.exception, _with_error(message, outcome.exception)))
    try:
        response = call(client, operation, doing, gone_kind, **request)
    except AnsibleAWSError as e:
        message = aws_error_message(e.exception, doing)
        return dict(ok=False, failure=_failure(change, e.exception, _with_error(message, e.exception)))
    if response is GONE:
        return dict(ok=True, response=None, gone=True)
    return dict(ok=True, response=response)


def _with_error(message, exception):
    return message.rstrip(".") + ": " + str(exception)


def _failure(change, exception, message):
    failure = {
        "action": change["action"],
        "network_interface_id": change["network_interface_id"],
        "session_number": change["session_number"],
        "iam_action": iam_action(change["operation"]),
        "error_code": error_code(exception) if exception is not None else None,
        "message": message,
    }
    if change.get("traffic_mirror_session_id"):
        failure["traffic_mirror_session_id"] = change["traffic_mirror_session_id"]
    if "config_index" in change:
        failure["config_index"] = change["config_index"]
    return failure


def run_phases(client, changes, phases, check_mode, dry_run, max_concurrency):
    """Send `changes` phase by phase (each phase's writes concurrently). Returns [(change, outcome)] in order.

    A phase with a failure ends the run: the changes of later phases are returned with outcome None (not sent).
    """
    outcomes = []
    failed = False
    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
        for actions in phases:
            batch = [c for c in changes if c["action"] in actions]
            if failed:
                outcomes.extend((c, None) for c in batch)
                continue
            results = list(pool.map(lambda c: send(client, c, check_mode, dry_run), batch))
            outcomes.extend(zip(batch, results))
            # In check mode every dry run is sent: an audit wants every missing permission at once.
            failed = not check_mode and (failed or any(not r["ok"] for r in results))
    order = {id(c): n for n, c in enumerate(changes)}
    outcomes.sort(key=lambda pair: order[id(pair[0])])
    return outcomes
