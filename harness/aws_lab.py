"""The AWS lab the tests, the demo and the benchmarks share, in an account offline or real: what traffic
mirror sessions need before they can exist (source network interfaces, targets, filters), built and removed
with boto3. build() is the small lab of the tests and the demo; build_at_scale() the many-interface one of
the module benchmarks."""

import uuid


def network(ec2, vpc_cidr, subnet_cidr, availability_zone=None, vpc_tags=None):
    """A VPC and one subnet in it: (vpc id, subnet id)."""
    vpc_args = dict(CidrBlock=vpc_cidr)
    if vpc_tags:
        vpc_args["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": vpc_tags}]
    vpc = ec2.create_vpc(**vpc_args)["Vpc"]["VpcId"]
    subnet_args = dict(VpcId=vpc, CidrBlock=subnet_cidr)
    if availability_zone:
        subnet_args["AvailabilityZone"] = availability_zone
    return vpc, ec2.create_subnet(**subnet_args)["Subnet"]["SubnetId"]


def build(ec2, prefix=None):
    """Create a VPC, a subnet, four ENIs (three sources, one behind each target), two targets and two filters."""
    prefix = prefix or "netmirror-test-" + uuid.uuid4().hex[:8]
    tag = [{"Key": "netmirror-test", "Value": prefix}]
    vpc, subnet = network(ec2, "10.77.0.0/16", "10.77.1.0/24", vpc_tags=tag)
    enis = [
        ec2.create_network_interface(SubnetId=subnet, Description=prefix)["NetworkInterface"]["NetworkInterfaceId"]
        for _ in range(5)
    ]
    targets = [
        ec2.create_traffic_mirror_target(NetworkInterfaceId=eni, Description=prefix)["TrafficMirrorTarget"][
            "TrafficMirrorTargetId"
        ]
        for eni in enis[3:]
    ]
    filters = [
        ec2.create_traffic_mirror_filter(Description=prefix)["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
        for _ in range(2)
    ]
    return dict(
        resource_prefix=prefix,
        vpc_id=vpc,
        subnet_id=subnet,
        source_eni_ids=enis[:3],
        target_eni_ids=enis[3:],
        target_id=targets[0],
        other_target_id=targets[1],
        filter_id=filters[0],
        other_filter_id=filters[1],
    )


def build_at_scale(ec2, elbv2, eni_count, availability_zone):
    """A VPC with ``eni_count`` source ENIs, a network load balancer target (no per-target source quota) and
    one filter: ids under vpc_id, subnet_id, eni_ids, target_id, filter_id."""
    # A /18: thousands of ENIs each take an address.
    vpc, subnet = network(ec2, "10.80.0.0/16", "10.80.0.0/18", availability_zone)
    enis = [
        ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
        for _ in range(eni_count)
    ]
    nlb = elbv2.create_load_balancer(Name="bench-nlb-" + uuid.uuid4().hex[:8], Subnets=[subnet], Type="network")
    target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb["LoadBalancers"][0]["LoadBalancerArn"])
    mirror_filter = ec2.create_traffic_mirror_filter(Description="bench")["TrafficMirrorFilter"]
    return {
        "vpc_id": vpc,
        "subnet_id": subnet,
        "eni_ids": enis,
        "target_id": target["TrafficMirrorTarget"]["TrafficMirrorTargetId"],
        "filter_id": mirror_filter["TrafficMirrorFilterId"],
    }


def destroy(ec2, built):
    """Remove what build() made (sessions first, since they hold targets and filters)."""
    sessions = ec2.describe_traffic_mirror_sessions(
        Filters=[{"Name": "network-interface-id", "Values": built["source_eni_ids"]}]
    )["TrafficMirrorSessions"]
    for session in sessions:
        ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session["TrafficMirrorSessionId"])
    for target in (built["target_id"], built["other_target_id"]):
        ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target)
    for mirror_filter in (built["filter_id"], built["other_filter_id"]):
        ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=mirror_filter)
    for eni in built["source_eni_ids"] + built["target_eni_ids"]:
        ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_subnet(SubnetId=built["subnet_id"])
    ec2.delete_vpc(VpcId=built["vpc_id"])


def readonly_user(iam, name="netmirror-readonly"):
    """Keys of an IAM user that may only describe (for denied dry runs)."""
    import json

    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="describe-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
