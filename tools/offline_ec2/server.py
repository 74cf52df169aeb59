"""The WSGI application and the foreground server.

OfflineEC2App sits in front of moto's multi-service DomainDispatcherApplication:
it serves the control API, applies the fault switches and logs every AWS call.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import install
from .aws_request import AWSCall, error_code_of, parse_call
from .control import PREFIX, control_app
from .errors import internal_error, json_error_body, request_limit_exceeded
from .faults import FAULTS, is_write
from .request_log import REQUEST_LOG

NOT_AWS_PATHS = ("/moto-api", "/favicon.ico")


def _fault_response(call: AWSCall, error: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if call.json_protocol:
        body, content_type = json_error_body(error.error_code, error.message), "application/x-amz-json-1.1"
    else:
        body, content_type = error.get_body(), "text/xml"
    data = body.encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(data))),
        ("X-Amzn-ErrorType", error.error_code),
    ]
    return error.code, headers, data


class OfflineEC2App:
    def __init__(self, moto_app: Any = None):
        install()
        self.moto_app = moto_app or DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            return control_app(environ, start_response)
        if path.startswith(NOT_AWS_PATHS):
            return self.moto_app(environ, start_response)

        call = parse_call(environ)
        fault = None
        if FAULTS.take("throttle", call.action):
            fault, (status, headers, body) = "throttle", _fault_response(call, request_limit_exceeded())
        elif FAULTS.take("server_error", call.action):
            fault, (status, headers, body) = "server_error", _fault_response(call, internal_error())
        else:
            status, headers, body = self._call_moto(environ)
            applied_write = 200 <= status < 300 and is_write(call.action)
            if applied_write and FAULTS.take("drop_response_after_write", call.action):
                fault = "drop_response_after_write"
                status, headers, body = _fault_response(call, internal_error())

        REQUEST_LOG.append(
            {
                "service": call.service,
                "action": call.action,
                "dry_run": call.dry_run,
                "status": status,
                "error_code": error_code_of(body) if status >= 400 else None,
                "access_key": call.access_key,
                "fault": fault,
            }
        )
        start_response(f"{status} {_reason(status)}", headers)
        return [body]

    def _call_moto(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.moto_app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        # moto's headers pass unchanged (a HEAD answer's Content-Length is not len(body))
        return int(captured["status"].split()[0]), list(captured["headers"]), body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def require_loopback(host: str) -> None:
    """The endpoint is for this machine only."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"offline_ec2: refusing to bind {host!r}; use a loopback address such as 127.0.0.1")


def stop_when_parent_exits(parent_pid: int) -> None:
    """Test helpers set OFFLINE_EC2_PARENT_PID: a killed test run leaves no server behind."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(host: str, port: int) -> None:
    """Run in the foreground until SIGINT or SIGTERM."""
    require_loopback(host)
    if os.environ.get("OFFLINE_EC2_PARENT_PID"):
        stop_when_parent_exits(int(os.environ["OFFLINE_EC2_PARENT_PID"]))
    server = make_server(host, port, OfflineEC2App(), threaded=True, request_handler=MotoRequestHandler)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"offline_ec2 listening on http://{host}:{server.server_port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("offline_ec2 stopped", file=sys.stderr, flush=True)
