"""The log of every AWS API request the endpoint received, in order.

Entries hold no secrets: the access key id is an identifier, not a credential;
secret keys, session tokens and the Authorization header are never stored.
"""

from __future__ import annotations

import threading
from typing import Any


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(dict(entry))

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


REQUEST_LOG = RequestLog()
