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


def retry_decorator():
    """Jittered backoff on throttling (RequestLimitExceeded) and server errors: every call of the collection."""
    return AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20)


def ec2_client(module):
    """EC2 client whose calls retry throttling and server errors with jittered backoff when aws_retry=True."""
    return module.client("ec2", retry_decorator=retry_decorator())


def all_not_found_codes():
    return tuple(code for codes in NOT_FOUND_CODES.values() for code in codes)


class TrafficMirrorErrorHandler(AWSErrorHandler):
    """amazon.aws's error handler for the traffic-mirroring API: every NotFound spelling is "missing"."""

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(all_not_found_codes()))


def error_code(exception):
    if isinstance(exception, botocore.exceptions.ClientError):
        return exception.response.get("Error", {}).get("Code")
    return None


def is_not_found(exception, kind):
    """Whether `exception` is one of the NotFound answers for `kind` (amazon.aws's is_boto3_error_code)."""
    return isinstance(exception, is_boto3_error_code(list(NOT_FOUND_CODES[kind]), e=exception))


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


# Returned by write() when the resource it deletes or changes is already gone.
GONE = object()


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
        return getattr(client, operation)(aws_retry=True, **params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        if gone_if_not_found and is_not_found(e, gone_if_not_found):
            return GONE
        fail_for_aws_error(module, e, doing)


def _dry_run(module, client, operation, doing, params):
    try:
        getattr(client, operation)(aws_retry=True, DryRun=True, **params)
    except botocore.exceptions.ClientError as e:
        code = error_code(e)
        if code == DRY_RUN_SUCCEEDED:
            return
        if code == UNAUTHORIZED:
            _fail_aws(module, e, dry_run_denied_message(operation, doing))
        fail_for_aws_error(module, e, "{0} (check mode dry run)".format(doing))
    except botocore.exceptions.BotoCoreError as e:
        fail_for_aws_error(module, e, "{0} (check mode dry run)".format(doing))
    # The endpoint accepted the DryRun call as a real write: refuse to go on rather than report a dry run.
    module.fail_json(
        msg="The EC2 endpoint carried out {0} although DryRun was set; it does not honour DryRun, "
        "so check mode cannot be trusted against it.".format(iam_action(operation))
    )


def derived_client_token(kind, desired):
    """A client token that is the same for the same desired resource.

    A retry after an ambiguous failure, or a re-run while Describe still lags
    behind a create, then sends the same token, and EC2 returns the resource
    it already made instead of making a second one.
    """
    canonical = json.dumps({"kind": kind, "desired": desired}, sort_keys=True, separators=(",", ":"))
    return "netmirror-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:48]


def describe_all(module, client, operation, result_key, doing, **params):
    """Every item of a paginated Describe call (all pages read)."""

    @TrafficMirrorErrorHandler.common_error_handler(doing)
    def query():
        return paginated_query_with_retries(client, operation, retry_decorator(), **params)

    try:
        return query().get(result_key, [])
    except AnsibleAWSError as e:
        fail_for_aws_error(module, e.exception, doing)
