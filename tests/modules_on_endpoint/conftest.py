"""Fixtures for module tests against the offline EC2 endpoint (real HTTP through botocore)."""

import pytest

import aws_lab
from helpers.module_runner import run_module

WRITE_PREFIXES = ("Create", "Modify", "Delete")


class Account:
    """A fresh offline account with a lab in it, and ways to run modules and read the request log."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.ec2 = endpoint.client("ec2")
        lab = aws_lab.build(self.ec2)
        self.enis = lab["source_eni_ids"]
        self.target_enis = lab["target_eni_ids"]
        self.target = lab["target_id"]
        self.other_target = lab["other_target_id"]
        self.filter = lab["filter_id"]
        self.other_filter = lab["other_filter_id"]
        self.connection = dict(
            endpoint_url=endpoint.endpoint_url, region=endpoint.region, access_key="testing", secret_key="testing"
        )

    def run(self, main, check_mode=False, diff=False, **args):
        return run_module(main, dict(self.connection, **args), check_mode=check_mode, diff=diff)

    def actions(self, dry_run=None):
        """The actions the endpoint received since the last clear, oldest first."""
        log = self.endpoint.requests()
        return [r["action"] for r in log if dry_run is None or bool(r.get("dry_run")) == dry_run]

    def real_writes(self):
        return [a for a in self.actions(dry_run=False) if a.startswith(WRITE_PREFIXES)]


@pytest.fixture
def aws(endpoint):
    """A fresh account: source network interfaces, two targets and two filters; the request log empty."""
    endpoint.reset()
    account = Account(endpoint)
    endpoint.clear_requests()
    return account
