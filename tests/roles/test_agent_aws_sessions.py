"""The mirror_agent role's AWS sessions: target and filter ids resolved on the controller (against the
offline endpoint) into agent sessions that the agent itself accepts, with the filter's rules unchanged."""

import json
import os

import yaml
from traffic_mirror_agent.config import parse_config

from helpers import playbook as playbook_runner

ROLE = playbook_runner.role_path("mirror_agent")

PLAYBOOK = playbook_runner.local_play("""\
  tasks:
    - name: Resolve
      ansible.builtin.include_role:
        name: netmirror.traffic_mirror.mirror_agent
        tasks_from: resolve_aws.yml
    - name: Write what was resolved
      ansible.builtin.copy:
        content: "{{ __mirror_agent_resolved_sessions | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
""")


def aws_resources(endpoint):
    """Network-interface targets at 10.5.1.77 and 10.5.1.78 and a filter with one ingress rule, on the endpoint."""
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/24")["Subnet"]["SubnetId"]
    targets = []
    for address in ("10.5.1.77", "10.5.1.78"):
        eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address)["NetworkInterface"]
        target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni["NetworkInterfaceId"])["TrafficMirrorTarget"]
        targets.append(target["TrafficMirrorTargetId"])
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
    return targets, mirror_filter


def aws_session(target, mirror_filter, name="db", number=2, vni=77):
    return dict(
        name=name,
        network_interface="eth0",
        session_number=number,
        virtual_network_id=vni,
        traffic_mirror_target_id=target,
        traffic_mirror_filter_id=mirror_filter,
    )


def run_playbook(tmp_path, endpoint, playbook, sessions, **extra):
    (tmp_path / "play.yml").write_text(playbook)
    variables = dict(
        mirror_agent_aws_sessions=sessions,
        mirror_agent_aws_region=endpoint.region,
        mirror_agent_aws_endpoint_url=endpoint.endpoint_url,
        **extra,
    )
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return playbook_runner.run_playbook(tmp_path / "play.yml", variables, tmp_path, env, timeout=300)


def test_aws_ids_become_agent_sessions(endpoint, tmp_path):
    (target, _second_target), mirror_filter = aws_resources(endpoint)
    out = tmp_path / "resolved.json"
    run_playbook(tmp_path, endpoint, PLAYBOOK, [aws_session(target, mirror_filter)], out=str(out))

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


def config_content():
    """The content of the role's "Write the configuration" task (present.yml), so that the test writes exactly the
    config.json the role would install."""
    tasks = yaml.safe_load((ROLE / "tasks" / "present.yml").read_text())
    (task,) = [t for t in tasks if t["name"] == "Write the configuration"]
    return task["ansible.builtin.copy"]["content"]


TWICE = """
- name: Apply the role twice in one play
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
{applications}
- name: Apply it again in a second play of the same playbook
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
{again}
"""
APPLICATION = """
    - name: Resolve, as the role does on the controller
      ansible.builtin.include_role:
        name: netmirror.traffic_mirror.mirror_agent
        tasks_from: resolve_aws.yml
        public: true
    - name: Write the config.json the role would install
      ansible.builtin.copy:
        content: {content}
        dest: "{{{{ out }}}}/config-{n}.json"
        mode: "0600"
"""


def test_applying_the_role_twice_in_one_playbook_resolves_each_session_once(endpoint, tmp_path):
    """Regression (issue #17): the resolved sessions were accumulated in a host fact, which outlives the play, so a
    second application doubled them and the agent rejected its config ("used twice")."""
    (first, second), mirror_filter = aws_resources(endpoint)
    sessions = [aws_session(second, mirror_filter, "web", 1, 78), aws_session(first, mirror_filter, "db", 2)]
    content = json.dumps(config_content())
    applications = [APPLICATION.format(content=content, n=n) for n in range(3)]
    playbook = TWICE.format(applications="".join(applications[:2]), again=applications[2])
    run_playbook(tmp_path, endpoint, playbook, sessions, out=str(tmp_path))
    for n in range(3):
        config = json.loads((tmp_path / "config-{0}.json".format(n)).read_text())
        parsed = parse_config(config).sessions  # the agent accepts it (a doubled session is "used twice")
        got = sorted((s.name, s.session_number, str(s.target.address)) for s in parsed)
        assert got == [("db", 2, "10.5.1.77"), ("web", 1, "10.5.1.78")], "application %d" % (n + 1)
        assert all(s["filter"]["ingress_rules"][0]["rule_number"] == 10 for s in config["sessions"])
