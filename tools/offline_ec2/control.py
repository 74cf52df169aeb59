"""The control API: JSON over HTTP under /_offline_ec2/, not AWS-signed.

GET    /_offline_ec2/health    -> {"ok": true}
POST   /_offline_ec2/reset     -> resets every moto backend, the extension
                                  state, the faults and the request log
GET    /_offline_ec2/requests  -> {"requests": [{"service", "action", "dry_run",
                                  "status", "error_code", "access_key", "fault"}]}
DELETE /_offline_ec2/requests  -> clears the request log
GET    /_offline_ec2/faults    -> the faults still armed (same shape as POST)
POST   /_offline_ec2/faults    -> arms the faults in the JSON body
DELETE /_offline_ec2/faults    -> disarms every fault
POST   /_offline_ec2/seed      -> ENIs and sessions built in the backend (seed.py), for benchmarks
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from werkzeug.wrappers import Request, Response

from .faults import FAULTS, FaultSpecError
from .request_log import REQUEST_LOG
from .seed import SeedError, seed
from .state import LOCK

PREFIX = "/_offline_ec2/"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def reset_everything() -> None:
    with LOCK:
        moto_api_backend.reset()  # moto's own reset: every backend, all accounts
        FAULTS.clear()
        REQUEST_LOG.clear()


def _health(request: Request) -> Response:
    return _json({"ok": True})


def _reset(request: Request) -> Response:
    reset_everything()
    return _json({"ok": True})


def _requests(request: Request) -> Response:
    if request.method == "DELETE":
        REQUEST_LOG.clear()
        return _json({"ok": True})
    return _json({"requests": REQUEST_LOG.entries()})


def _faults(request: Request) -> Response:
    if request.method == "DELETE":
        FAULTS.clear()
    elif request.method == "POST":
        try:
            return _json(FAULTS.set(json.loads(request.get_data() or b"{}")))
        except (FaultSpecError, ValueError) as error:
            return _json({"error": str(error)}, 400)
    return _json(FAULTS.snapshot())


def _seed(request: Request) -> Response:
    try:
        return _json(seed(json.loads(request.get_data() or b"{}")))
    except (SeedError, ValueError, KeyError) as error:
        return _json({"error": str(error)}, 400)


ROUTES: dict[str, tuple[tuple[str, ...], Callable[[Request], Response]]] = {
    "health": (("GET",), _health),
    "reset": (("POST",), _reset),
    "requests": (("GET", "DELETE"), _requests),
    "faults": (("GET", "POST", "DELETE"), _faults),
    "seed": (("POST",), _seed),
}


def control_app(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    name = request.path[len(PREFIX) :].strip("/")
    if name not in ROUTES:
        response = _json({"error": f"unknown control path {request.path}"}, 404)
    elif request.method not in ROUTES[name][0]:
        response = _json({"error": f"{request.method} not allowed; use {', '.join(ROUTES[name][0])}"}, 405)
    else:
        response = ROUTES[name][1](request)
    return response(environ, start_response)
