"""Playbooks written for amazon.aws just work: `module_defaults: group/aws:` (or `group/amazon.aws.aws:`) sets
region, endpoint and credentials for every module of this collection, with no AWS_* variable in the environment;
a task's own option still wins; and AWS_REGION in the environment never makes the group's endpoint_url be ignored.
"""

import os
import sys
from pathlib import Path

import pytest

from ansible_collections.netmirror.traffic_mirror.plugins.plugin_utils.aws_defaults import aws_group_defaults
from ansible_collections.netmirror.traffic_mirror.plugins.plugin_utils.aws_defaults import with_aws_defaults
from helpers import playbook

PLAYBOOK = Path(__file__).resolve().parent / "files" / "module_defaults_group_aws.yml"
MODULES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "plugins" / "modules").glob("*.py"))
GROUP_KEY = "group-aws-key"


def run_playbook(endpoint, lab, tmp_path, group, connection, env_extra=None):
    spare = lab["ec2"].create_network_interface(SubnetId=lab["subnet_id"])["NetworkInterface"]["NetworkInterfaceId"]
    endpoint.clear_requests()
    variables = dict(
        module_defaults_group=group,
        aws_connection=connection,
        prefix=lab["resource_prefix"],
        spare_eni_id=spare,
        source_eni_ids=lab["source_eni_ids"],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        # No shared credentials file or config either: only module_defaults can give them.
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        **(env_extra or {}),
    )
    return playbook.run_playbook(PLAYBOOK, variables, tmp_path, env, options=["-v"])


def tasks_run(output):
    return {line.split("TASK [", 1)[1].split("]", 1)[0] for line in output.splitlines() if line.startswith("TASK [")}


@pytest.mark.parametrize("group", ["aws", "amazon.aws.aws"])
def test_every_module_takes_its_connection_from_amazon_aws_group(endpoint, lab, tmp_path, group):
    connection = dict(
        region=endpoint.region, endpoint_url=endpoint.endpoint_url, access_key=GROUP_KEY, secret_key="group-secret"
    )
    output = run_playbook(endpoint, lab, tmp_path, group, connection)

    assert set(MODULES) <= tasks_run(output), "a module of the collection is not in the playbook"
    keys = {r["access_key"] for r in endpoint.requests()}
    assert keys == {GROUP_KEY, "task-own-key"}, keys
    own = [r for r in endpoint.requests() if r["access_key"] == "task-own-key"]
    assert [r["action"] for r in own] == ["DescribeTrafficMirrorSessions"]


def test_aws_region_in_the_environment_never_hides_the_groups_endpoint(endpoint, lab, tmp_path):
    # aws_ aliases, as amazon.aws playbooks often spell them; no region in the group, AWS_REGION in the environment.
    connection = dict(aws_endpoint_url=endpoint.endpoint_url, aws_access_key=GROUP_KEY, aws_secret_key="s")
    run_playbook(endpoint, lab, tmp_path, "aws", connection, env_extra=dict(AWS_REGION=endpoint.region))
    assert {r["access_key"] for r in endpoint.requests()} == {GROUP_KEY, "task-own-key"}


def test_group_defaults_fill_only_what_the_task_left_out_and_map_aliases():
    module_defaults = [
        {"group/amazon.aws.aws": {"aws_region": "eu-west-1", "endpoint_url": "http://e", "wait": True}},
        {"group/netmirror.traffic_mirror.aws": {"region": "ignored-here"}},
    ]
    defaults = aws_group_defaults(module_defaults)
    assert defaults == {"region": "eu-west-1", "endpoint_url": "http://e"}, "connection options only"
    args = with_aws_defaults({"aws_region": "us-east-2"}, defaults, {})
    assert args == {"aws_region": "us-east-2", "endpoint_url": "http://e"}


def test_aws_security_token_from_awx_is_honoured_only_with_environment_credentials():
    environ = {"AWS_SECURITY_TOKEN": "sts"}
    assert with_aws_defaults({}, {}, environ) == {"session_token": "sts"}
    assert with_aws_defaults({}, {}, dict(environ, AWS_SESSION_TOKEN="other")) == {}, "amazon.aws reads that one"
    assert with_aws_defaults({"access_key": "k"}, {}, environ) == {"access_key": "k"}, "not another key's token"
    assert with_aws_defaults({"aws_session_token": "t"}, {}, environ) == {"aws_session_token": "t"}
