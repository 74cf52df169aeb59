"""The shapes every traffic-mirroring resource's Create, Delete and Describe share, written once.

A Create checks its ClientToken, then its own parameters (``prepare``), then its TagSpecifications; a
repeated token with the same request answers with the resource it made; otherwise the resource's own
checks run (``check``), a DryRun stops there, and the new resource (``build``) is stored, tagged and
remembered under its token. A Delete answers a DryRun, then forgets the resource (and what goes with
it) with its tags and tokens. A Describe reads ids, filters and paging, and answers a DryRun after the
checks. Callers hold ``state.LOCK`` (describe_method() takes it itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from . import describe, idempotency, tags
from .dry_run_auth import answer_dry_run
from .errors import EC2Error
from .state import LOCK
from .validation import check_client_token


@dataclass(frozen=True)
class Kind:
    """One resource type. ``name`` (TrafficMirrorSession) names the rest: its Create action, the result key,
    the Id and Ids parameters, the Describe list (+s)."""

    name: str
    prefix: str  # its ids' prefix (ids.SESSION ...)
    getters: dict[str, describe.Getter]  # Describe filter name -> value of a resource
    store: Callable[[Any], dict[str, Any]]  # the backend -> its resources by id

    @property
    def tag_type(self) -> str:
        """TagSpecifications' ResourceType: TrafficMirrorFilterRule -> traffic-mirror-filter-rule."""
        return re.sub(r"(?<!^)(?=[A-Z])", "-", self.name).lower()


def create(
    response: EC2BaseResponse,
    kind: Kind,
    build: Callable[[Any, Any], Any],
    prepare: Callable[[], Any] = lambda: None,
    check: Callable[[Any], Any] = lambda prepared: None,
) -> ActionResult:
    """Create* with ClientToken and DryRun: ``prepare()`` -> parameters, ``check(parameters)`` -> what the
    checks found, ``build(parameters, found)`` -> the new resource."""
    backend = response.ec2_backend
    action, store = "Create" + kind.name, kind.store(backend)
    token = check_client_token(response._get_param("ClientToken"))
    prepared = prepare()
    new_tags = tags.tags_from_specifications(response._get_param("TagSpecifications"), kind.tag_type)
    dry_run = response._get_param("DryRun", False)
    replayed = None if dry_run else idempotency.replayed_resource_id(backend, action, token, response.params)
    if replayed:
        resource = store[replayed]
    else:
        found = check(prepared)
        answer_dry_run(response)
        resource = build(prepared, found)
        store[resource.id] = resource
        tags.tag_new_resource(backend, resource.id, new_tags)
        idempotency.remember(backend, action, token, response.params, resource.id)
    return ActionResult({kind.name: resource.to_dict(), "ClientToken": token})


def refuse_while_in_use(backend: Any, resource: Any, session_field: str, noun: str) -> None:
    """DependencyViolation when a session still names ``resource`` in ``session_field``."""
    users = [
        s.id for s in backend.traffic_mirror_sessions.values() if getattr(s, session_field) == resource.id
    ]
    if users:
        raise EC2Error(
            "DependencyViolation",
            f"The traffic mirror {noun} '{resource.id}' is in use by traffic mirror "
            f"session(s): {', '.join(users)}.",
        )


def delete(
    response: EC2BaseResponse,
    kind: Kind,
    resource: Any,
    dependents: Iterable[tuple[dict[str, Any], Any]] = (),
) -> ActionResult:
    """Delete* after its checks: DryRun, then ``dependents`` ((store, resource) pairs that go with it) and
    the resource, each with its tags and client tokens."""
    answer_dry_run(response)
    backend = response.ec2_backend
    for owned_store, owned in dependents:
        _forget(backend, owned_store, owned)
    _forget(backend, kind.store(backend), resource)
    return ActionResult({kind.name + "Id": resource.id})


def _forget(backend: Any, store: dict[str, Any], resource: Any) -> None:
    del store[resource.id]
    tags.forget_tags(backend, resource.id)
    idempotency.forget_resource(backend, resource.id)


def describe_page(
    response: EC2BaseResponse,
    kind: Kind,
    store: dict[str, Any] | None = None,
    lagging: bool = True,
) -> ActionResult:
    """Describe* of the kind's resources (or of ``store``): the ids asked for, filters, paging; describe lag
    unless a DryRun (or ``lagging`` is off); a DryRun answered after the checks."""
    dry_run = response._get_param("DryRun", False)
    page, token = describe.describe(
        store=kind.store(response.ec2_backend) if store is None else store,
        prefix=kind.prefix,
        requested_ids=response._get_param(kind.name + "Ids"),
        filters=response._filters_from_querystring(),
        getters=kind.getters,
        max_results=response._get_param("MaxResults"),
        next_token=response._get_param("NextToken"),
        lagging=lagging and not dry_run,
    )
    answer_dry_run(response)
    return ActionResult({kind.name + "s": [r.to_dict() for r in page], "NextToken": token})


def describe_method(kind: Kind) -> Callable[[EC2BaseResponse], ActionResult]:
    """A response class's Describe* method for ``kind``, with nothing of its own."""

    def describe_method_of_kind(response: EC2BaseResponse) -> ActionResult:
        with LOCK:
            return describe_page(response, kind)

    return describe_method_of_kind
