# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin of every module of this collection: amazon.aws's module_defaults groups reach our modules.

`module_defaults: group/aws:` and `group/amazon.aws.aws:` name groups that list amazon.aws's (and community.aws's)
modules only; a third-party collection cannot join them. This action resolves those groups' defaults for the AWS
connection options (region, endpoint, credentials, certificates, profile, botocore config) and hands them to the
module, for each option the task has not set itself (Ansible has already merged the task's own arguments, the
module's own defaults and group/netmirror.traffic_mirror.aws into the task's arguments, and those win).

It also honours AWS_SECURITY_TOKEN, the variable AWX's AWS credential sets, which amazon.aws no longer reads.
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

# amazon.aws's connection options (amazon.aws.common.modules and amazon.aws.region.modules), with their aliases.
CONNECTION_OPTIONS = {
    "access_key": ("aws_access_key_id", "aws_access_key"),
    "secret_key": ("aws_secret_access_key", "aws_secret_key"),
    "session_token": ("aws_session_token",),
    "profile": ("aws_profile",),
    "endpoint_url": ("aws_endpoint_url",),
    "region": ("aws_region",),
    "validate_certs": (),
    "aws_ca_bundle": (),
    "aws_config": (),
    "debug_botocore_endpoint_logs": (),
}
# What `group/aws` and `group/amazon.aws.aws` become once Ansible has resolved them.
AWS_GROUPS = ("aws", "ansible.builtin.aws", "ansible.legacy.aws", "amazon.aws.aws")
CREDENTIAL_OPTIONS = ("access_key", "secret_key", "profile")


def _names(option):
    return (option,) + CONNECTION_OPTIONS[option]


def given(args, option):
    return any(args.get(name) is not None for name in _names(option))


def aws_group_defaults(module_defaults, resolve=lambda value: value):
    """The connection options of the amazon.aws groups in a task's module_defaults (a list of dicts).

    `resolve` templates a group's value (a dict, or a template that gives one).
    """
    merged = {}
    for entry in module_defaults or []:
        for key, values in entry.items():
            if key.startswith("group/") and key[len("group/") :] in AWS_GROUPS:
                values = resolve(values)
                if isinstance(values, dict):
                    merged.update(values)
    found = {}
    for option in CONNECTION_OPTIONS:
        for name in _names(option):
            if name in merged:
                found[option] = merged[name]
    return found


def with_aws_defaults(args, defaults, environ):
    """The module's arguments: the task's, then the amazon.aws groups' defaults, then AWS_SECURITY_TOKEN."""
    result = dict(args)
    for option, value in defaults.items():
        if not given(result, option):
            result[option] = value
    token = environ.get("AWS_SECURITY_TOKEN")
    if (
        token
        and not given(result, "session_token")
        and not environ.get("AWS_SESSION_TOKEN")
        and not any(given(result, option) for option in CREDENTIAL_OPTIONS)
    ):
        result["session_token"] = token
    return result


class AwsDefaultsAction(ActionBase):
    """Run the module of the same name with the amazon.aws groups' connection defaults filled in."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        defaults = self._templar.template(aws_group_defaults(self._task.module_defaults, self._templar.template))
        # omit in a default means "not given": drop it rather than pass the placeholder on.
        omit = (task_vars or {}).get("omit")
        defaults = {k: v for k, v in defaults.items() if v is not None and (omit is None or v != omit)}
        module_args = with_aws_defaults(self._task.args, defaults, os.environ)
        outcome = self._execute_module(module_args=module_args, task_vars=task_vars, wrap_async=self._task.async_val)
        result.update(outcome)
        return result
