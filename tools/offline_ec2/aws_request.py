"""What the request log and the fault switches need to know about an AWS call.

Read from the raw WSGI request before moto sees it; the body is put back.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

FORM = "application/x-www-form-urlencoded"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")


@dataclass(frozen=True)
class AWSCall:
    service: str | None
    action: str | None
    dry_run: bool
    access_key: str | None
    json_protocol: bool


def _read_form_body(environ: dict[str, Any]) -> bytes:
    """The body of a query-protocol (form-encoded) request; other bodies stay unread."""
    if not environ.get("CONTENT_TYPE", "").startswith(FORM):
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    return body


def parse_call(environ: dict[str, Any]) -> AWSCall:
    params: dict[str, list[str]] = parse_qs(environ.get("QUERY_STRING", ""))
    params.update(parse_qs(_read_form_body(environ).decode("utf-8", "replace")))
    content_type = environ.get("CONTENT_TYPE", "")

    credential = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key = credential.group(1) if credential else (params.get("AWSAccessKeyId") or [None])[0]
    target = environ.get("HTTP_X_AMZ_TARGET")
    action = (params.get("Action") or [None])[0] or (target.rsplit(".", 1)[-1] if target else None)
    return AWSCall(
        service=credential.group(2) if credential else None,
        action=action,
        dry_run=(params.get("DryRun") or ["false"])[0].lower() == "true",
        access_key=access_key,
        json_protocol=bool(target) or "json" in content_type,
    )


def error_code_of(body: bytes) -> str | None:
    """The error code in an XML or JSON AWS error body."""
    text = body[:4096].decode("utf-8", "replace")
    match = re.search(r"<Code>([^<]+)</Code>", text) or re.search(r'"__type"\s*:\s*"([^"]+)"', text)
    return match.group(1).rsplit("#", 1)[-1] if match else None
