"""Resource ids with AWS's prefixes, and the check that an id is well formed."""

from __future__ import annotations

import re

from moto.ec2.utils import random_id  # moto's seeded random: /moto-api/seed applies

from .errors import EC2Error, invalid_value

SESSION = "tms"
TARGET = "tmt"
FILTER = "tmf"
FILTER_RULE = "tmfr"
NETWORK_INTERFACE = "eni"
VPC_ENDPOINT = "vpce"

# AWS answers a malformed ENI or endpoint id with a specific code; for the
# traffic mirroring ids it documents none, so those get InvalidParameterValue.
_MALFORMED_CODES = {
    NETWORK_INTERFACE: "InvalidNetworkInterfaceID.Malformed",
    VPC_ENDPOINT: "InvalidVpcEndpointId.Malformed",
}


def new_id(prefix: str) -> str:
    """prefix + 17 lowercase hex digits, like AWS."""
    return random_id(prefix=prefix, size=17)


def is_well_formed(resource_id: object, prefix: str) -> bool:
    # Old-style ids had 8 hex digits; current ones have 17. Accept both.
    return isinstance(resource_id, str) and bool(
        re.fullmatch(rf"{prefix}-(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})", resource_id)
    )


def require_well_formed(resource_id: object, prefix: str) -> str:
    if not is_well_formed(resource_id, prefix):
        message = f'Invalid id: "{resource_id}" (expecting "{prefix}-...")'
        code = _MALFORMED_CODES.get(prefix)
        raise EC2Error(code, message) if code else invalid_value(message)
    return resource_id  # type: ignore[return-value]
