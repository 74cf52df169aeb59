"""EC2 errors with the HTTP status AWS uses, in EC2's XML error format.

moto's own EC2 exceptions always answer HTTP 400; DryRunOperation (412),
UnauthorizedOperation (403), RequestLimitExceeded (503) and InternalError (500)
need other statuses, so every error raised by this package goes through here.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from werkzeug.exceptions import HTTPException


def xml_error_body(code: str, message: str) -> str:
    """The body EC2 (and every query-protocol service botocore parses) returns."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    )


def json_error_body(code: str, message: str) -> str:
    """The body of a JSON-protocol service error (botocore reads __type)."""
    return json.dumps({"__type": code, "message": message})


class EC2Error(HTTPException):
    """An EC2 API error; moto's call_action turns it into the HTTP answer."""

    def __init__(self, error_code: str, message: str, status: int = 400):
        super().__init__(description=xml_error_body(error_code, message))
        self.code = status  # werkzeug's name for the HTTP status
        self.error_code = error_code
        self.message = message

    def get_headers(self, *args, **kwargs):  # type: ignore[override]
        return [("Content-Type", "text/xml")]

    def get_body(self, *args, **kwargs):  # type: ignore[override]
        return self.description

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


def invalid_value(message: str) -> EC2Error:
    return EC2Error("InvalidParameterValue", message)


def invalid_combination(message: str) -> EC2Error:
    return EC2Error("InvalidParameterCombination", message)


def missing_parameter(name: str) -> EC2Error:
    return EC2Error("MissingParameter", f"The request must contain the parameter {name}.")


def dry_run_operation() -> EC2Error:
    return EC2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def unauthorized_operation(principal_arn: str, action: str) -> EC2Error:
    return EC2Error(
        "UnauthorizedOperation",
        "You are not authorized to perform this operation. "
        f"User: {principal_arn} is not authorized to perform: {action}",
        403,
    )


def request_limit_exceeded() -> EC2Error:
    return EC2Error("RequestLimitExceeded", "Request limit exceeded.", 503)


def internal_error() -> EC2Error:
    return EC2Error("InternalError", "An internal error has occurred.", 500)
