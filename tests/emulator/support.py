"""Helpers shared by the emulator tests."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

# Errors must reach the test as they are, so no client-side retries by default.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def error_of(call, *args, **kwargs) -> ClientError:
    """Run a boto3 call that must fail; return the ClientError."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value


def code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def status(error: ClientError) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


def sessions(ec2, **kw) -> list[dict]:
    return ec2.describe_traffic_mirror_sessions(**kw)["TrafficMirrorSessions"]


def iam_user_client(aws, name: str, actions: list[str]):
    """An EC2 client signed with a new IAM user's key, allowed exactly `actions`."""
    iam = aws.client("iam")
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="only-these", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return aws.client(
        "ec2",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=NO_RETRIES,
    )
