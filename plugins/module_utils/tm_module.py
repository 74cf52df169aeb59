# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The start and the end of every write module of the collection, written once.

start(): the AnsibleAWSModule (check mode supported, the writes doc fragment's options added when asked) and its
options validated, every problem in one failure before any call. finish(): the result, with the diff when the
task asks for one.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import WRITE_OPTIONS

STATE_OPTION = dict(state=dict(type="str", default="present", choices=["present", "absent"]))
# The options of the amazon.aws.tags doc fragment.
TAG_OPTIONS = dict(tags=dict(type="dict", aliases=["resource_tags"]), purge_tags=dict(type="bool", default=True))


def start(argument_spec, errors_of=None, write_options=True, **module_args):
    """The module, its options checked by `errors_of(params)` (a list of messages, each naming parameter,
    value and what is allowed); `write_options` adds client_token and check_mode_dry_run."""
    spec = dict(argument_spec)
    if write_options:
        spec.update(WRITE_OPTIONS)
    module = AnsibleAWSModule(argument_spec=spec, supports_check_mode=True, **module_args)
    if errors_of is not None:
        fail_on_errors(module, errors_of(module.params))
    return module


def fail_on_errors(module, errors, **result):
    """Fail with every problem at once (msg joins them; errors lists them), when there is any."""
    if errors:
        module.fail_json(msg=" ".join(errors), errors=list(errors), **result)


def finish(module, changed, diff, **result):
    """Exit with `result`, and `diff` (before, after) as the diff when the task runs with --diff."""
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = dict(before=diff[0], after=diff[1])
    module.exit_json(changed=changed, **result)
