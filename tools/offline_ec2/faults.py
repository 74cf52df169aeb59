"""Fault switches a test turns on over the control API.

  throttle                   next N matching requests -> 503 RequestLimitExceeded
  server_error               next N matching requests -> 500 InternalError
  drop_response_after_write  next N matching successful writes are applied, then
                             the client gets 500 InternalError instead of the answer
  describe_lag               each session/target/filter created afterwards is left
                             out of its first N Describe calls that would return it

"actions" absent means any action (for drop_response_after_write: any write).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

COUNTED_FAULTS = ("throttle", "server_error", "drop_response_after_write")
DESCRIBE_LAG = "describe_lag"
READ_ACTION_PREFIXES = ("Describe", "List", "Get")


class FaultSpecError(ValueError):
    pass


def is_write(action: str | None) -> bool:
    return bool(action) and not action.startswith(READ_ACTION_PREFIXES)  # type: ignore[union-attr]


def _non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{where} must be a non-negative integer")
    return value


def _parse(spec: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(spec, dict):
        raise FaultSpecError("the body must be a JSON object")
    unknown = set(spec) - set(COUNTED_FAULTS) - {DESCRIBE_LAG}
    if unknown:
        raise FaultSpecError(f"unknown fault(s): {', '.join(sorted(unknown))}")
    parsed: dict[str, dict[str, Any]] = {}
    for name in COUNTED_FAULTS:
        if name not in spec:
            continue
        entry = spec[name]
        if not isinstance(entry, dict):
            raise FaultSpecError(f"{name} must be an object")
        actions = entry.get("actions")
        if actions is not None and (
            not isinstance(actions, list) or not all(isinstance(a, str) for a in actions)
        ):
            raise FaultSpecError(f"{name}.actions must be a list of action names")
        parsed[name] = {
            "count": _non_negative_int(entry.get("count", 1), f"{name}.count"),
            "actions": actions,
        }
    if DESCRIBE_LAG in spec:
        entry = spec[DESCRIBE_LAG]
        if not isinstance(entry, dict):
            raise FaultSpecError(f"{DESCRIBE_LAG} must be an object")
        parsed[DESCRIBE_LAG] = {"calls": _non_negative_int(entry.get("calls", 1), "describe_lag.calls")}
    return parsed


class FaultBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, dict[str, Any]] = {}

    def set(self, spec: Any) -> dict[str, Any]:
        """Replace the faults named in spec; others stay as they are."""
        parsed = _parse(spec)
        with self._lock:
            self._faults.update(parsed)
            self._drop_spent()
            return copy.deepcopy(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._faults)

    def take(self, name: str, action: str | None) -> bool:
        """Use up one of fault `name` if it applies to this action."""
        with self._lock:
            fault = self._faults.get(name)
            if not fault or fault["count"] <= 0:
                return False
            actions = fault["actions"]
            if actions is None:
                applies = is_write(action) if name == "drop_response_after_write" else True
            else:
                applies = action in actions
            if not applies:
                return False
            fault["count"] -= 1
            self._drop_spent()
            return True

    def describe_lag_calls(self) -> int:
        with self._lock:
            return self._faults.get(DESCRIBE_LAG, {}).get("calls", 0)

    def _drop_spent(self) -> None:
        for name in [n for n, f in self._faults.items() if f.get("count", f.get("calls")) == 0]:
            del self._faults[name]


FAULTS = FaultBoard()
