"""The mirror_agent role's AWS sessions: target and filter ids resolved on the controller (against the
offline endpoint) into agent sessions that the agent itself accepts, with the filter's rules unchanged."""

import json
import subprocess
import sys
from pathlib import Path

from traffic_mirror_agent.config import parse_config

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Resolve
      ansible.builtin.include_role:
        name: netmirror.traffic_mirror.mirror_agent
        tasks_from: resolve_aws.yml
    - name: Write what was resolved
      ansible.builtin.copy:
        content: "{{ mirror_agent_resolved_sessions | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def test_aws_ids_become_agent_sessions(endpoint, tmp_path):
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.5.1.77")["NetworkInterface"]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni["NetworkInterfaceId"])["TrafficMirrorTarget"]
    mirror_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    ec2.create_traffic_mirror_filter_rule(
        TrafficMirrorFilterId=mirror_filter,
        TrafficDirection="ingress",
        RuleNumber=10,
        RuleAction="accept",
        Protocol=6,
        DestinationPortRange={"FromPort": 443, "ToPort": 443},
        SourceCidrBlock="0.0.0.0/0",
        DestinationCidrBlock="0.0.0.0/0",
    )
    sessions = [
        dict(
            name="db",
            network_interface="eth0",
            session_number=2,
            virtual_network_id=77,
            traffic_mirror_target_id=target["TrafficMirrorTargetId"],
            traffic_mirror_filter_id=mirror_filter,
        )
    ]
    playbook = tmp_path / "resolve.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "resolved.json"
    variables = dict(
        mirror_agent_aws_sessions=sessions,
        mirror_agent_aws_region=endpoint.region,
        mirror_agent_aws_endpoint_url=endpoint.endpoint_url,
        out=str(out),
    )
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", "@" + str(tmp_path / "vars.json")],
        env=dict(__import__("os").environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]

    (resolved,) = json.loads(out.read_text())
    assert resolved["target"] == {"address": "10.5.1.77", "port": 4789}
    assert resolved["filter"]["ingress_rules"] == [
        {
            "rule_number": 10,
            "rule_action": "accept",
            "protocol": 6,
            "source_cidr_block": "0.0.0.0/0",
            "destination_cidr_block": "0.0.0.0/0",
            "destination_port_range": {"from_port": 443, "to_port": 443},
        }
    ]
    assert "traffic_mirror_target_id" not in resolved
    config = parse_config({"sessions": [resolved]})  # the agent takes it as it is
    assert config.sessions[0].name == "db"
