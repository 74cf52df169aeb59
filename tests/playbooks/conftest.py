"""A fresh offline account with a lab in it, for the shipped playbooks (the `aws` fixture pattern of
tests/modules_on_endpoint)."""

import pytest

import aws_lab


@pytest.fixture
def lab(endpoint):
    """The lab's ids (aws_lab.build), with an EC2 client; the endpoint's request log empty."""
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    built = aws_lab.build(ec2)
    endpoint.clear_requests()
    return dict(built, ec2=ec2)
