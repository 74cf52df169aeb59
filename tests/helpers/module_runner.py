"""Run an Ansible module's main() in this process and return its JSON result.

The module still talks to EC2 over HTTP through botocore (endpoint_url points at
the offline endpoint); only Ansible's module wrapper is skipped, which makes a
table of many cases fast.
"""

import contextlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def run_module(main, args, check_mode=False, diff=False):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    stdout = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(stdout):
        try:
            main()
        except SystemExit:
            pass
    return json.loads(stdout.getvalue())
