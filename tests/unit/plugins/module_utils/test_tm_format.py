"""tm_format.snake_resource: the modules' return shape is amazon.aws's boto3_resource_to_ansible_dict, whichever
way it is computed (flat resources take a shorter way there)."""

from ansible_collections.amazon.aws.plugins.module_utils.transformation import boto3_resource_to_ansible_dict
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_format import snake_resource

SESSION = {
    "TrafficMirrorSessionId": "tms-0123456789abcdef0",
    "TrafficMirrorTargetId": "tmt-0123456789abcdef0",
    "TrafficMirrorFilterId": "tmf-0123456789abcdef0",
    "NetworkInterfaceId": "eni-0123456789abcdef0",
    "OwnerId": "123456789012",
    "PacketLength": 128,
    "SessionNumber": 1,
    "VirtualNetworkId": 42,
    "Description": "web",
    "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "fleet", "Value": "bench"}],
}
# Key names as AWS writes them, and names that test the conversion's corners (acronyms, digits, a leading capital).
KEYS = st.sampled_from(
    [key for key in SESSION if key != "Tags"]
    + ["NetworkLoadBalancerArn", "GatewayLoadBalancerEndpointId", "IPv6CidrBlock", "HTTPEndpoint", "Type", "A1B2"]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
TAGS = st.lists(st.fixed_dictionaries({"Key": st.text(max_size=8), "Value": st.text(max_size=8)}), max_size=3)


def library(resource):
    return boto3_resource_to_ansible_dict(resource, normalize=False)


def test_a_session_is_returned_as_the_library_returns_it():
    assert snake_resource(SESSION) == library(SESSION)
    assert snake_resource(SESSION)["tags"] == {"Name": "web", "fleet": "bench"}


@given(resource=st.dictionaries(KEYS, SCALARS, max_size=8), tags=st.one_of(st.none(), TAGS))
def test_flat_resources_match_the_library(resource, tags):
    if tags is not None:
        resource = dict(resource, Tags=tags)
    assert snake_resource(resource) == library(resource)


@given(
    resource=st.dictionaries(KEYS, st.one_of(SCALARS, st.dictionaries(KEYS, SCALARS, max_size=3)), max_size=6),
    rules=st.lists(st.dictionaries(KEYS, SCALARS, max_size=3), max_size=3),
)
def test_nested_resources_match_the_library(resource, rules):
    resource = dict(resource, IngressFilterRules=rules)
    assert snake_resource(resource) == library(resource)
