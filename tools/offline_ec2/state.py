"""Extension state kept on moto's per-account/region EC2 backend.

Sessions, targets and filters live in moto's own dicts on the backend
(traffic_mirror_sessions / _targets / _filters), so moto's Resource Groups
Tagging API still sees them. What moto has no place for (filter rules, client
tokens, creation order) hangs off the backend as one extra attribute. moto's
reset re-creates every backend, so it clears all of this with no extra hook.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

# moto's server is threaded; one lock keeps each traffic-mirroring call atomic
# (check-then-create for limits and client tokens must not interleave).
LOCK = threading.RLock()

_ATTRIBUTE = "offline_ec2_mirroring"


@dataclass
class MirrorState:
    rules: dict[str, Any] = field(default_factory=dict)  # rule id -> FilterRule
    # (action, client token) -> (request fingerprint, resource id)
    client_tokens: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # Creation order: stable paging even when resources are deleted in between.
    sequence: itertools.count = field(default_factory=lambda: itertools.count(1))


def mirror_state(ec2_backend: Any) -> MirrorState:
    with LOCK:
        state = ec2_backend.__dict__.get(_ATTRIBUTE)
        if state is None:
            state = MirrorState()
            setattr(ec2_backend, _ATTRIBUTE, state)
        return state


class MirrorResource:
    """Common parts of sessions, targets, filters and rules."""

    id: str
    owner_id: str

    def __init__(self, ec2_backend: Any, resource_id: str, hidden_describes: int = 0):
        self.ec2_backend = ec2_backend
        self.id = resource_id
        self.owner_id = ec2_backend.account_id
        self.seq = next(mirror_state(ec2_backend).sequence)
        # describe_lag fault: how many more Describe calls must not see it yet.
        self.hidden_describes = hidden_describes

    def tag_dict(self) -> dict[str, str]:
        return dict(self.ec2_backend.tags.get(self.id, {}))

    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tag_dict().items()]
