"""Fixtures for module tests against the offline EC2 endpoint (real HTTP through botocore)."""

from types import SimpleNamespace

import pytest

import aws_lab


@pytest.fixture
def aws(endpoint):
    """A fresh account with source network interfaces, two targets and two filters.

    The request log starts empty.
    """
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    built = aws_lab.build(ec2)
    endpoint.clear_requests()
    return SimpleNamespace(
        endpoint=endpoint,
        ec2=ec2,
        enis=built["source_eni_ids"],
        target=built["target_id"],
        other_target=built["other_target_id"],
        filter=built["filter_id"],
        other_filter=built["other_filter_id"],
        connection=dict(
            endpoint_url=endpoint.endpoint_url,
            region=endpoint.region,
            access_key="testing",
            secret_key="testing",
        ),
    )
