"""One offline EC2 endpoint per test session; every test starts from a clean reset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from offline_ec2.testing import OfflineEC2  # noqa: E402

from .support import NO_RETRIES  # noqa: E402


@pytest.fixture(scope="session")
def aws():
    with OfflineEC2() as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def clean(aws):
    aws.reset()
    yield


@pytest.fixture(scope="session")
def ec2(aws):
    """EC2 client without retries (clients hold no per-test state)."""
    return aws.client("ec2", config=NO_RETRIES)


@pytest.fixture
def full_net(aws):
    """aws.create_network(): VPC, subnet, 4 ENIs, an NLB and a GWLB endpoint."""
    return aws.create_network(eni_count=4)


@pytest.fixture
def net(ec2):
    """Just a VPC, a subnet and 4 ENIs: most tests need no load balancers (and run faster)."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    enis = [ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"] for _ in range(4)]
    return {"vpc_id": vpc_id, "subnet_id": subnet_id, "eni_ids": [e["NetworkInterfaceId"] for e in enis]}


@pytest.fixture
def target_id(ec2, net):
    """An ENI target on the last ENI of `net`."""
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=net["eni_ids"][-1])
    return target["TrafficMirrorTarget"]["TrafficMirrorTargetId"]


@pytest.fixture
def filter_id(ec2):
    return ec2.create_traffic_mirror_filter(Description="all")["TrafficMirrorFilter"]["TrafficMirrorFilterId"]


@pytest.fixture
def make_session(ec2, net, target_id, filter_id):
    """Create a session; defaults: first ENI, the ENI target, the filter."""

    def make(session_number=1, eni=None, **kw):
        params = {
            "NetworkInterfaceId": eni or net["eni_ids"][0],
            "TrafficMirrorTargetId": target_id,
            "TrafficMirrorFilterId": filter_id,
            "SessionNumber": session_number,
            **kw,
        }
        return ec2.create_traffic_mirror_session(**params)["TrafficMirrorSession"]

    return make
