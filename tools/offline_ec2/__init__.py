"""Offline EC2 endpoint for VPC Traffic Mirroring, built on moto's server.

Run:  PYTHONPATH=tools python -m offline_ec2 [--host 127.0.0.1] [--port N]
Docs: docs/offline-endpoint.md.  Test helper: offline_ec2.testing.OfflineEC2.

install() applies the extensions to moto (idempotent); the server calls it.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from . import dry_run_auth, ec2_response, tags

    tags.install()  # AWS id prefixes for tagging
    dry_run_auth.install()  # IAM users checked, everyone else is root
    ec2_response.install()  # traffic-mirroring handlers on moto's EC2 endpoint
    _installed = True
