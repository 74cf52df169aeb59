# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the traffic-mirroring modules talk to EC2.

One place for: the retrying client, writes that become DryRun calls in check
mode, client tokens derived from the desired resource, and AWS error codes
turned into messages that say what to do.
"""

from __future__ import annotations

import hashlib
import json

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Both spellings occur: the first in real responses, the second in AWS's error table.
NOT_FOUND_CODES = {
    "session": ("InvalidTrafficMirrorSessionId.NotFound", "InvalidTrafficMirrorSessionNotFound"),
    "target": ("InvalidTrafficMirrorTargetId.NotFound", "InvalidTrafficMirrorTargetNotFound"),
    "filter": ("InvalidTrafficMirrorFilterId.NotFound", "InvalidTrafficMirrorFilterNotFound"),
    "filter rule": ("InvalidTrafficMirrorFilterRuleId.NotFound", "InvalidTrafficMirrorFilterRuleNotFound"),
    "network interface": ("InvalidNetworkInterfaceID.NotFound",),
}

# What to do about the errors a user can act on.
ADVICE = {
    "TrafficMirrorSessionsPerInterfaceLimitExceeded": (
        "The network interface already has the maximum of 3 traffic mirror sessions (an AWS quota that cannot be "
        "raised). Delete a session on it, or mirror this interface with the netmirror.traffic_mirror.mirror_agent role."
    ),
    "TrafficMirrorSessionsPerTargetLimitExceeded": (
        "The traffic mirror target has reached its session limit. Use another target, or a Network or Gateway "
        "Load Balancer target, which has no such limit."
    ),
    "TrafficMirrorSourcesPerTargetLimitExceeded": (
        "The network interface target already receives from its maximum number of sources (10, or 100 on the "
        "largest instance sizes). Use another target, or a Network or Gateway Load Balancer target."
    ),
    "TrafficMirrorSessionLimitExceeded": "The account has reached its traffic mirror session quota in this region.",
    "IdempotentParameterMismatch": (
        "The client token was already used to create a session with other parameters. Pass a new client_token, "
        "or omit it so that the module derives one from the desired session."
    ),
    "DependencyViolation": (
        "The resource is still in use by a traffic mirror session; delete or change that session first."
    ),
}

# Argument spec of the options documented in the netmirror.traffic_mirror.writes doc fragment.
WRITE_OPTIONS = dict(
    client_token=dict(type="str", no_log=False),
    check_mode_dry_run=dict(type="bool", default=True),
)

DRY_RUN_SUCCEEDED = "DryRunOperation"
UNAUTHORIZED = "UnauthorizedOperation"


def all_not_found_codes():
    return tuple(code for codes in NOT_FOUND_CODES.values() for code in codes)


def retry_decorator():
    """Jittered backoff on throttling (RequestLimitExceeded) and server errors: every call of the collection."""
    return AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20)


def ec2_client(module):
    """EC2 client whose calls retry throttling and server errors with jittered backoff when aws_retry=True."""
    return module.client("ec2", retry_decorator=retry_decorator())


class TrafficMirrorErrorHandler(AWSErrorHandler):
    """amazon.aws's error handler for the traffic-mirroring API: NotFound (any spelling) is "missing".

    The class itself treats every kind's NotFound as missing; for_kind() narrows that to one kind, so that a
    delete of a session is "already gone" only on the session's own NotFound.
    """

    NOT_FOUND = all_not_found_codes()

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(cls.NOT_FOUND))

    @classmethod
    def for_kind(cls, kind):
        return type(cls.__name__, (cls,), {"NOT_FOUND": NOT_FOUND_CODES[kind]})


def error_code(exception):
    """The AWS error code of `exception`, or None. Ours: amazon.aws's is_boto3_error_code only matches codes, and
    the messages (ADVICE, NOT_FOUND_CODES) and the set module's failures need the code itself."""
    if isinstance(exception, botocore.exceptions.ClientError):
        return exception.response.get("Error", {}).get("Code")
    return None


def iam_action(operation):
    """'create_traffic_mirror_session' -> 'ec2:CreateTrafficMirrorSession'."""
    return "ec2:" + "".join(part.capitalize() for part in operation.split("_"))


def _fail_aws(module, exception, msg):
    """fail_json_aws appends ": <the AWS error>"; a message ending in "." would read "...).: An error"."""
    module.fail_json_aws(exception, msg=msg.rstrip("."))


def aws_error_message(exception, doing):
    """What went wrong while `doing`, and what to do about it (without AWS's own error text)."""
    code = error_code(exception)
    if code == UNAUTHORIZED:
        return "Not authorized while {0}: {1}".format(doing, _unauthorized_hint(exception))
    for kind, codes in NOT_FOUND_CODES.items():
        if code in codes:
            return "Failed while {0}: the {1} does not exist (check the id and the region).".format(doing, kind)
    advice = ADVICE.get(code)
    if advice:
        return "Failed while {0}: {1}".format(doing, advice)
    return "Failed while {0}".format(doing)


def dry_run_denied_message(operation, doing):
    return (
        "Check mode dry run: the credentials are not allowed to perform {0} (while {1}). "
        "Add it to the IAM policy, or set check_mode_dry_run=false for an audit with read-only "
        "credentials.".format(iam_action(operation), doing)
    )


def fail_for_aws_error(module, exception, doing):
    """Fail the task with a message that says what went wrong and what to do about it."""
    _fail_aws(module, exception, aws_error_message(exception, doing))


def _unauthorized_hint(exception):
    operation = getattr(exception, "operation_name", None) or ""
    action = "ec2:" + operation if operation else "the EC2 action"
    return "the credentials lack the IAM permission {0}; add it to the policy (see docs/iam-policy.json).".format(
        action
    )


# Returned by call() and write() when the resource a write deletes or changes is already gone.
GONE = object()


def call(client, operation, doing, gone_if_not_found=None, **params):
    """One EC2 call through amazon.aws's error handler (retrying client, aws_retry=True).

    Raises AnsibleAWSError (the botocore error in .exception). With gone_if_not_found set to a kind ('session',
    ...), that kind's NotFound answer returns GONE (deletion_error_handler: a delete racing another delete).
    """
    if gone_if_not_found:
        handler = TrafficMirrorErrorHandler.for_kind(gone_if_not_found).deletion_error_handler(doing)
    else:
        handler = TrafficMirrorErrorHandler.common_error_handler(doing)
    response = handler(getattr(client, operation))(aws_retry=True, **params)
    return GONE if response is False else response


def write(module, client, operation, doing, gone_if_not_found=None, **params):
    """Send one write, or in check mode prove it would be allowed with a DryRun call.

    Returns the response of the real call, or None in check mode. In check mode
    with check_mode_dry_run=false nothing is sent at all (read-only audits).
    With gone_if_not_found set to a kind ('session', ...), that kind's NotFound
    answer returns GONE instead of failing (a delete racing another delete).
    """
    if module.check_mode:
        if module.params.get("check_mode_dry_run", True):
            _dry_run(module, client, operation, doing, params)
        return None
    try:
        return call(client, operation, doing, gone_if_not_found, **params)
    except AnsibleAWSError as e:
        fail_for_aws_error(module, e.exception, doing)


# What a DryRun call can prove besides an AWS error: the write is allowed, or the endpoint ignored DryRun.
DRY_RUN_ALLOWED = "allowed"
DRY_RUN_IGNORED = "ignored"


def dry_run_outcome(client, operation, doing, gone_if_not_found=None, **params):
    """Send a planned write with DryRun=True: DRY_RUN_ALLOWED (DryRunOperation), GONE (the kind's NotFound, with
    gone_if_not_found), DRY_RUN_IGNORED (the endpoint carried the write out), or the AnsibleAWSError AWS answered."""
    try:
        response = call(client, operation, doing, gone_if_not_found, DryRun=True, **params)
    except AnsibleAWSError as e:
        return DRY_RUN_ALLOWED if error_code(e.exception) == DRY_RUN_SUCCEEDED else e
    return GONE if response is GONE else DRY_RUN_IGNORED


def ignored_dry_run_message(operation):
    return (
        "The EC2 endpoint carried out {0} although DryRun was set; it does not honour DryRun, "
        "so check mode cannot be trusted against it.".format(iam_action(operation))
    )


def _dry_run(module, client, operation, doing, params):
    outcome = dry_run_outcome(client, operation, doing, **params)
    if outcome == DRY_RUN_ALLOWED:
        return
    if outcome == DRY_RUN_IGNORED:
        # Refuse to go on rather than report a dry run.
        module.fail_json(msg=ignored_dry_run_message(operation))
    if error_code(outcome.exception) == UNAUTHORIZED:
        _fail_aws(module, outcome.exception, dry_run_denied_message(operation, doing))
    fail_for_aws_error(module, outcome.exception, "{0} (check mode dry run)".format(doing))


def derived_client_token(kind, desired):
    """A client token that is the same for the same desired resource.

    A retry after an ambiguous failure, or a re-run while Describe still lags
    behind a create, then sends the same token, and EC2 returns the resource
    it already made instead of making a second one.
    """
    canonical = json.dumps({"kind": kind, "desired": desired}, sort_keys=True, separators=(",", ":"))
    return "netmirror-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:48]


# EC2 refuses a Describe call whose filters carry more than 200 values in all (FilterLimitExceeded, "The maximum
# number of filter values specified on a single call is 200"); docs/modules.md says where that comes from.
MAX_FILTER_VALUES_PER_CALL = 200


def filter_chunks(filters, limit=MAX_FILTER_VALUES_PER_CALL):
    """`filters` (boto3's filter list) as the filter lists of calls that carry at most `limit` values each. Pure.

    Values of one filter are OR-ed, so the filter with the most values is split across calls whose answers
    together are the answer to the whole; the other filters go whole into every call. Raises ValueError when
    the other filters alone reach the limit.
    """
    total = sum(len(f["Values"]) for f in filters)
    if total <= limit:
        return [filters]
    widest = max(range(len(filters)), key=lambda n: len(filters[n]["Values"]))
    room = limit - (total - len(filters[widest]["Values"]))
    if room < 1:
        raise ValueError(
            "the filters carry {0} values besides {1!r}'s; EC2 allows at most {2} filter values in one call, and "
            "only one filter's values can be split across calls".format(
                total - len(filters[widest]["Values"]), filters[widest]["Name"], limit
            )
        )
    values = filters[widest]["Values"]
    return [
        [dict(f, Values=values[start : start + room]) if n == widest else f for n, f in enumerate(filters)]
        for start in range(0, len(values), room)
    ]


def describe_all(module, client, operation, result_key, doing, **params):
    """Every item of a paginated Describe call (all pages read; filters with more values than one call may carry
    are split across calls, and an item two calls return is kept once)."""

    @TrafficMirrorErrorHandler.common_error_handler(doing)
    def query(request):
        return paginated_query_with_retries(client, operation, retry_decorator(), **request)

    try:
        chunks = filter_chunks(params.get("Filters") or [])
    except ValueError as e:
        module.fail_json(msg="Cannot describe while {0}: {1}.".format(doing, e))
    try:
        if len(chunks) == 1:
            return query(params).get(result_key, [])
        id_key = result_key[:-1] + "Id"  # TrafficMirrorSessions -> TrafficMirrorSessionId
        found = {}
        for chunk in chunks:
            for item in query(dict(params, Filters=chunk)).get(result_key, []):
                found.setdefault(item[id_key], item)
        return list(found.values())
    except AnsibleAWSError as e:
        fail_for_aws_error(module, e.exception, doing)


def describe_once(module, client, operation, result_key, doing, missing_kind=None, **params):
    """The items of one Describe call (no paging: an id or a slot selects at most a few). With missing_kind
    ('session', ...), that kind's NotFound answer means no item (list_error_handler)."""
    if missing_kind:
        handler = TrafficMirrorErrorHandler.for_kind(missing_kind).list_error_handler(doing, default_value={})
    else:
        handler = TrafficMirrorErrorHandler.common_error_handler(doing)
    try:
        return handler(getattr(client, operation))(aws_retry=True, **params).get(result_key, [])
    except AnsibleAWSError as e:
        fail_for_aws_error(module, e.exception, doing)
