"""Authorization and DryRun.

Who is checked: a request signed with the access key of an IAM user (or of an
STS assumed-role session) created in the emulator is checked with moto's IAM
policy evaluation, for every service that uses moto's normal authorization
hook (all but S3). Any other key ("testing", ...) is the account root and may
do everything, so ordinary tests need no IAM setup and no moto auth switch.

moto answers a denied EC2 call with AccessDenied; AWS answers
UnauthorizedOperation (403) naming the principal and the action. JSON-protocol
services get AccessDeniedException as JSON (moto would send XML).

DryRun: after authorization and parameter validation, and before any change,
a DryRun request answers DryRunOperation with HTTP 412 as AWS does (moto
answers 400). The EC2 response class uses error_on_dryrun() below for every
moto EC2 action that honours DryRun (CreateTags, DeleteTags, ...).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.iam.access_control import IAMRequest
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .errors import dry_run_operation, unauthorized_operation


class _AWSStyleIAMRequest(IAMRequest):
    """moto's IAM check, denying in the caller's service style."""

    def _raise_access_denied(self) -> None:
        if self._service == "ec2":
            raise unauthorized_operation(self._access_key.arn, self._action)
        if "X-Amz-Target" in self._headers:  # JSON protocol: moto would answer XML
            error = JsonRESTError(
                "AccessDeniedException",
                f"User: {self._access_key.arn} is not authorized to perform: {self._action}",
            )
            error.code = 403
            raise error
        super()._raise_access_denied()


def is_emulated_principal(account_id: str, partition: str, access_key_id: str) -> bool:
    """True for keys of IAM users / assumed roles that exist in the emulator."""
    if access_key_id in iam_backends[account_id][partition].access_keys:
        return True
    return any(
        role.access_key_id == access_key_id for role in sts_backends[account_id][partition].assumed_roles
    )


def _authorize(self: Any, resource: str = "*") -> None:
    """Replaces moto's _authenticate_and_authorize_normal_action."""
    if not is_emulated_principal(self.current_account, self.partition, self.get_access_key()):
        return  # the account root: allowed everything
    if "Authorization" not in self.headers:
        return  # presigned or unsigned: moto's signature check needs the header
    path = self.raw_path
    query = urlparse(self.uri).query
    if query:
        path += "?" + query
    request = _AWSStyleIAMRequest(
        account_id=self.current_account,
        method=self.method,
        path=path,
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=self._get_action(),
    )
    request.check_signature()
    request.check_action_permitted(resource)


def install() -> None:
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize  # type: ignore[method-assign]


def answer_dry_run(response: EC2BaseResponse) -> None:
    """Call right before a change: a DryRun request stops here with 412."""
    if response._get_param("DryRun", False):
        raise dry_run_operation()


class DryRunResponses(EC2BaseResponse):
    def error_on_dryrun(self) -> None:
        answer_dry_run(self)
