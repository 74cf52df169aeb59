"""Runs each integration target (amazon.aws layout: targets/NAME/tasks/main.yml) with ansible-playbook.

By default against the offline EC2 endpoint. Against real AWS when NETMIRROR_AWS_REGION is set, with
credentials from the usual AWS_* environment variables and the keys of a describe-only IAM user in
NETMIRROR_READONLY_ACCESS_KEY / NETMIRROR_READONLY_SECRET_KEY (for the denied dry-run cases).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import aws_lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TARGETS = sorted(
    p.name for p in (HERE / "targets").iterdir() if (p / "aliases").exists() and not p.name.startswith("setup_")
)
REAL_AWS_REGION = os.environ.get("NETMIRROR_AWS_REGION")


@pytest.fixture(scope="module")
def aws_account(request):
    """Connection variables and an EC2 client for the account the targets run against."""
    if REAL_AWS_REGION:
        yield dict(
            variables=dict(
                aws_region=REAL_AWS_REGION,
                aws_access_key=os.environ["AWS_ACCESS_KEY_ID"],
                aws_secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=os.environ.get("AWS_SESSION_TOKEN", ""),
                offline_endpoint=False,
                control_url="",
                readonly_access_key=os.environ["NETMIRROR_READONLY_ACCESS_KEY"],
                readonly_secret_key=os.environ["NETMIRROR_READONLY_SECRET_KEY"],
            ),
            ec2=boto3.client("ec2", region_name=REAL_AWS_REGION),
        )
        return
    endpoint = request.getfixturevalue("endpoint")
    endpoint.reset()
    readonly_key, readonly_secret = aws_lab.readonly_user(endpoint.client("iam"))
    yield dict(
        variables=dict(
            aws_region=endpoint.region,
            aws_access_key="testing",
            aws_secret_key="testing",
            aws_endpoint_url=endpoint.endpoint_url,
            offline_endpoint=True,
            control_url=endpoint.endpoint_url + "/_offline_ec2",
            readonly_access_key=readonly_key,
            readonly_secret_key=readonly_secret,
        ),
        ec2=endpoint.client("ec2"),
    )


def ansible_environment():
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        ANSIBLE_ROLES_PATH=str(HERE / "targets"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    return env


@pytest.mark.parametrize("target", TARGETS)
def test_integration_target(target, aws_account, tmp_path):
    ec2 = aws_account["ec2"]
    built = aws_lab.build(ec2)
    try:
        variables = dict(aws_account["variables"], target=target, **built)
        vars_file = tmp_path / "vars.json"
        vars_file.write_text(json.dumps(variables))
        completed = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                str(HERE / "run_target.yml"),
                "-e",
                "@" + str(vars_file),
            ],
            env=ansible_environment(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(completed.stdout[-20000:])
        print(completed.stderr[-5000:], file=sys.stderr)
        assert completed.returncode == 0, "integration target {0} failed, see output".format(target)
        assert "failed=0" in completed.stdout
    finally:
        aws_lab.destroy(ec2, built)
