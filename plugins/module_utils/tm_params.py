# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Validation of traffic-mirroring parameters, done before any AWS call.

botocore's service model has no min/max for these fields (AWS validates them on
the server), so the modules check them here and name the parameter, the value
and what is allowed. Every check returns a list of messages instead of failing,
so a module can report all bad inputs of one task at once.
"""

from __future__ import annotations

import re

from ansible_collections.amazon.aws.plugins.module_utils.arn import parse_aws_arn
from ansible_collections.amazon.aws.plugins.module_utils.arn import validate_aws_arn

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import PACKET_LENGTH_RANGE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import SESSION_NUMBER_RANGE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import VIRTUAL_NETWORK_ID_RANGE

CLIENT_TOKEN_MAX_LENGTH = 64

# AWS resource ids: a prefix and 8 (older) or 17 hex digits.
ID_PATTERNS = {
    "eni": re.compile(r"^eni-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
    "tms": re.compile(r"^tms-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
    "tmt": re.compile(r"^tmt-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
    "tmf": re.compile(r"^tmf-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
    "tmfr": re.compile(r"^tmfr-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
    "vpce": re.compile(r"^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$"),
}
# What validate_aws_arn leaves to us: a network (not application) load balancer's resource, and the account.
NLB_RESOURCE_PATTERN = re.compile(r"^loadbalancer/net/[^/]+/[0-9a-f]+$")
ACCOUNT_PATTERN = re.compile(r"^\d{12}$")


def check_range(name, value, bounds, extra=""):
    """Message for an integer parameter outside its inclusive range, else None."""
    if value is None:
        return None
    low, high = bounds
    if low <= value <= high:
        return None
    return "{0}={1} is out of range: allowed {2}-{3}{4}.".format(name, value, low, high, extra)


def check_id(name, value, kind):
    """Message for an id that does not look like an AWS id of `kind`, else None."""
    if value is None or ID_PATTERNS[kind].match(value):
        return None
    return "{0}={1!r} is not a valid id: expected '{2}-' followed by 8 or 17 lowercase hex digits.".format(
        name, value, kind
    )


def check_nlb_arn(name, value):
    """amazon.aws's validate_aws_arn for the service and type, and the shape of a network load balancer's id."""
    if value is None:
        return None
    details = parse_aws_arn(value) or {}
    if (
        validate_aws_arn(value, service="elasticloadbalancing", resource_type="loadbalancer")
        and details.get("region")
        and ACCOUNT_PATTERN.match(details.get("account_id") or "")
        and NLB_RESOURCE_PATTERN.match(details.get("resource") or "")
    ):
        return None
    return (
        "{0}={1!r} is not a Network Load Balancer ARN: expected "
        "arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/net/NAME/ID.".format(name, value)
    )


def check_client_token(value):
    if value is None:
        return None
    if len(value) > CLIENT_TOKEN_MAX_LENGTH or not value.isascii() or not value.isprintable() or not value:
        return "client_token={0!r} is not allowed: 1-{1} printable ASCII characters.".format(
            value, CLIENT_TOKEN_MAX_LENGTH
        )
    return None


def check_tags(tags):
    """AWS reserves the aws: prefix; a user cannot set such tags."""
    messages = []
    for key in sorted(tags or {}):
        if key.lower().startswith("aws:"):
            messages.append("tags key {0!r} is not allowed: keys starting with 'aws:' are reserved by AWS.".format(key))
    return messages


def session_parameter_errors(params):
    """All validation messages for ec2_traffic_mirror_session's parameters."""
    packet_length = params.get("packet_length")
    checks = [
        check_id("traffic_mirror_session_id", params.get("traffic_mirror_session_id"), "tms"),
        check_id("network_interface_id", params.get("network_interface_id"), "eni"),
        check_id("traffic_mirror_target_id", params.get("traffic_mirror_target_id"), "tmt"),
        check_id("traffic_mirror_filter_id", params.get("traffic_mirror_filter_id"), "tmf"),
        check_range("session_number", params.get("session_number"), SESSION_NUMBER_RANGE),
        # 0 is this module's documented spelling of "mirror the whole packet".
        None
        if packet_length == 0
        else check_range("packet_length", packet_length, PACKET_LENGTH_RANGE, ", or 0 for the whole packet"),
        check_range("virtual_network_id", params.get("virtual_network_id"), VIRTUAL_NETWORK_ID_RANGE),
        check_client_token(params.get("client_token")),
    ]
    return [message for message in checks if message] + check_tags(params.get("tags"))
