"""ClientToken idempotency for the traffic-mirroring create calls.

Same token + same parameters -> the original resource, nothing new.
Same token + other parameters -> IdempotentParameterMismatch.
A token is scoped to the account, region and action (tokens live on the EC2
backend, keyed by action).

Choice (AWS does not document it for traffic mirroring): a token is forgotten
when its resource is deleted, so a later create with that token makes a new
resource. Deleted sessions vanish from Describe at once (no "deleted" state to
report), so answering with the deleted id would hand a retrying client an id
that every later call rejects as NotFound; forgetting lets it converge.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import EC2Error
from .state import mirror_state

_NOT_PART_OF_THE_REQUEST = ("ClientToken", "DryRun")


def fingerprint(params: dict[str, Any]) -> str:
    meaningful = {k: v for k, v in params.items() if k not in _NOT_PART_OF_THE_REQUEST}
    return json.dumps(meaningful, sort_keys=True, default=str)


def replayed_resource_id(ec2_backend: Any, action: str, token: str | None, params: dict) -> str | None:
    """The id created earlier with this token, or None if the token is new."""
    if not token:
        return None
    remembered = mirror_state(ec2_backend).client_tokens.get((action, token))
    if remembered is None:
        return None
    original_fingerprint, resource_id = remembered
    if original_fingerprint != fingerprint(params):
        raise EC2Error(
            "IdempotentParameterMismatch",
            f"The client token '{token}' was already used for a {action} request with different parameters.",
        )
    return resource_id


def remember(ec2_backend: Any, action: str, token: str | None, params: dict, resource_id: str) -> None:
    if token:
        mirror_state(ec2_backend).client_tokens[(action, token)] = (fingerprint(params), resource_id)


def forget_resource(ec2_backend: Any, resource_id: str) -> None:
    tokens = mirror_state(ec2_backend).client_tokens
    for key in [k for k, (_, rid) in tokens.items() if rid == resource_id]:
        del tokens[key]
