"""Describe* for traffic mirroring: id lists, filters, paging and describe lag.

Filters follow EC2's rules: values of one filter are OR-ed, different filters
are AND-ed, '*' and '?' are wildcards; tag:<key> and tag-key work on every
resource type; an unknown filter name is InvalidParameterValue.

NextToken encodes the creation sequence number of the last resource returned,
so paging stays correct when resources are created or deleted between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import ids, lookups
from .errors import EC2Error, invalid_value
from .validation import check_max_results

Getter = Callable[[Any], Any]

# EC2 answers a Describe call whose filters carry more values than this, in all, with FilterLimitExceeded (the
# error code is in EC2's error table; the number and the message are what EC2 answers, see docs/modules.md).
MAX_FILTER_VALUES_PER_CALL = 200


def check_filter_value_count(filters: dict[str, list[str]]) -> None:
    if sum(len(values) for values in filters.values()) > MAX_FILTER_VALUES_PER_CALL:
        raise EC2Error(
            "FilterLimitExceeded",
            f"The maximum number of filter values specified on a single call is {MAX_FILTER_VALUES_PER_CALL}",
        )


def _pattern(value: str) -> re.Pattern[str]:
    escaped = re.escape(str(value)).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"{escaped}\\Z", re.DOTALL)


class _Values:
    """One filter's values, compiled once per call: exact values in a set, wildcard values as patterns
    (a filter of thousands of network interface ids stays linear)."""

    def __init__(self, values: list[str]):
        self.exact = {str(v) for v in values if "*" not in str(v) and "?" not in str(v)}
        self.patterns = [_pattern(v) for v in values if "*" in str(v) or "?" in str(v)]

    def match_any(self, candidates: Iterable[Any]) -> bool:
        for candidate in candidates:
            if candidate is None:
                continue
            text = str(candidate)
            if text in self.exact or any(p.match(text) for p in self.patterns):
                return True
        return False


def _matches_any(candidates: Iterable[Any], values: list[str] | _Values) -> bool:
    compiled = values if isinstance(values, _Values) else _Values(values)
    return compiled.match_any(candidates)


def _candidates(resource: Any, name: str, getters: dict[str, Getter]) -> list[Any]:
    """The values filter `name` looks at (names are checked beforehand)."""
    if name.startswith("tag:"):
        value = resource.tag_dict().get(name[4:])
        return [] if value is None else [value]
    if name == "tag-key":
        return list(resource.tag_dict())
    return [getters[name](resource)]


def check_filter_names(filters: dict[str, list[str]], getters: dict[str, Getter]) -> None:
    for name in filters:
        if not (name.startswith("tag:") or name == "tag-key" or name in getters):
            raise invalid_value(f"The filter '{name}' is invalid")


def matches(resource: Any, filters: dict[str, Any], getters: dict[str, Getter]) -> bool:
    return all(_matches_any(_candidates(resource, name, getters), values) for name, values in filters.items())


def encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": seq}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
        if isinstance(after, int):
            return after
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise EC2Error("InvalidPaginationToken", "The specified pagination token is not valid or is expired.")


def describe(
    *,
    store: dict[str, Any],
    prefix: str,
    requested_ids: list[str] | None,
    filters: dict[str, list[str]],
    getters: dict[str, Getter],
    max_results: Any,
    next_token: str | None,
    lagging: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of the resources in `store` that the request selects.

    With `lagging`, a resource whose describe-lag counter is above zero is left
    out (and its counter drops) for each call that would have returned it; a
    lagging id asked for by name answers NotFound, like AWS's eventual
    consistency does.
    """
    page_size = check_max_results(max_results)
    check_filter_names(filters, getters)
    check_filter_value_count(filters)
    after = decode_token(next_token)
    requested = list(dict.fromkeys(requested_ids or []))
    for resource_id in requested:
        ids.require_well_formed(resource_id, prefix)
    missing = [r for r in requested if r not in store]
    if missing:
        raise lookups.not_found(prefix, missing)

    compiled = {name: _Values(values) for name, values in filters.items()}
    wanted = set(requested)
    selected = [
        r
        for r in sorted(store.values(), key=lambda r: r.seq)
        if (not requested or r.id in wanted) and matches(r, compiled, getters)
    ]
    hidden = [r for r in selected if lagging and r.hidden_describes > 0]
    hidden_ids = {id(r) for r in hidden}
    visible = [r for r in selected if id(r) not in hidden_ids]

    if requested and hidden:
        for resource in hidden:
            resource.hidden_describes -= 1
        raise lookups.not_found(prefix, [r.id for r in hidden])

    remaining = [r for r in visible if r.seq > after]
    page = remaining if page_size is None else remaining[:page_size]
    token = encode_token(page[-1].seq) if page and len(remaining) > len(page) else None
    page_end = page[-1].seq if token else float("inf")
    for resource in hidden:
        if after < resource.seq <= page_end:
            resource.hidden_describes -= 1
    return page, token
