"""docs/examples/mirror_fleet.yml against the offline endpoint: every network interface of the tagged
instances gets a session, untagged instances get none, a re-run changes nothing, and an instance that
leaves the fleet loses its session while a session the playbook does not own stays."""

import re
from pathlib import Path

from test_targets import ansible_environment

from helpers.playbook import run_playbook

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "docs" / "examples" / "mirror_fleet.yml"


def run_example(variables, tmp_path):
    env = dict(ansible_environment(), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    output = run_playbook(PLAYBOOK, variables, tmp_path, env)
    return re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", output).groups()


def test_mirror_fleet_example(endpoint, tmp_path):
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    ids_eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]

    def launch(count, role):
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": role}]}]
        reservation = ec2.run_instances(
            ImageId=image, MinCount=count, MaxCount=count, SubnetId=subnet, TagSpecifications=tags
        )
        return [i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in reservation["Instances"]]

    web_enis = launch(3, "web")
    db_enis = launch(1, "db")
    variables = dict(
        aws_region=endpoint.region,
        aws_endpoint_url=endpoint.endpoint_url,
        ids_network_interface_id=ids_eni,
        fleet_tag_key="role",
        fleet_tag_value="web",
    )

    changed_first = run_example(variables, tmp_path)[1]
    sessions = ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    assert sorted(s["NetworkInterfaceId"] for s in sessions) == sorted(web_enis)
    assert not set(db_enis) & {s["NetworkInterfaceId"] for s in sessions}
    assert changed_first == "3"  # the target, the filter, and the loop of sessions

    endpoint.clear_requests()
    changed_again = run_example(variables, tmp_path)[1]
    assert changed_again == "0"
    # The set module: one Describe of the sessions for the whole fleet, whatever its size.
    assert [r["action"] for r in endpoint.requests()].count("DescribeTrafficMirrorSessions") == 1
    assert len(ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]) == len(web_enis)

    # An instance leaves the fleet; a session someone else made on a fleet interface is not this playbook's.
    leaving = ec2.describe_network_interfaces(NetworkInterfaceIds=[web_enis[0]])["NetworkInterfaces"][0]
    ec2.create_tags(Resources=[leaving["Attachment"]["InstanceId"]], Tags=[{"Key": "role", "Value": "db"}])
    target = sessions[0]["TrafficMirrorTargetId"]
    foreign = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=web_enis[1],
        SessionNumber=2,
        TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=sessions[0]["TrafficMirrorFilterId"],
    )["TrafficMirrorSession"]["TrafficMirrorSessionId"]

    assert run_example(variables, tmp_path)[1] == "1"
    left = ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    assert sorted((s["NetworkInterfaceId"], s["SessionNumber"]) for s in left) == sorted(
        [(web_enis[1], 1), (web_enis[2], 1), (web_enis[1], 2)]
    )
    assert foreign in {s["TrafficMirrorSessionId"] for s in left}
