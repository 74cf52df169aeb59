# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of every module that creates or changes traffic-mirroring resources.
    DOCUMENTATION = r"""
options:
  client_token:
    description:
      - The idempotency token of the create call, 1-64 printable ASCII characters.
      - Omitted, it is derived from the desired resource (a hash of its parameters), so the same task
        always sends the same token, and a retry after an ambiguous failure, or a re-run while
        C(Describe) still lags behind the create, gets the resource already made instead of a second one.
      - Reusing a token with other parameters fails with C(IdempotentParameterMismatch).
    type: str
  check_mode_dry_run:
    description:
      - In check mode, send every planned write with C(DryRun=true) to prove the credentials allow it.
        C(DryRunOperation) reports the planned change; C(UnauthorizedOperation) fails the task and names
        the missing IAM action. Nothing changes either way.
      - Set V(false) for audits with read-only credentials; check mode then only reads and plans.
    type: bool
    default: true
"""
