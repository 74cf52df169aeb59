"""ec2_traffic_mirror_session with botocore's Stubber: every request the module makes is checked
against EC2's service model and against the exact parameters expected, in order.

These complement the tests against the offline endpoint (tests/modules_on_endpoint); they pin down request
shapes the endpoint cannot show, such as what a Modify call carries.
"""

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import ANY
from botocore.stub import Stubber

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import derived_client_token
from ansible_collections.netmirror.traffic_mirror.plugins.modules import ec2_traffic_mirror_session as module
from helpers.module_runner import run_module

ENI = "eni-0123456789abcdef0"
TARGET = "tmt-0123456789abcdef0"
FILTER = "tmf-0123456789abcdef0"
SESSION = "tms-0123456789abcdef0"

CONNECTION = dict(region="us-east-1", access_key="AKIDEXAMPLE", secret_key="secret")


def aws_session(**overrides):
    session = dict(
        TrafficMirrorSessionId=SESSION,
        TrafficMirrorTargetId=TARGET,
        TrafficMirrorFilterId=FILTER,
        NetworkInterfaceId=ENI,
        OwnerId="123456789012",
        PacketLength=128,
        SessionNumber=1,
        VirtualNetworkId=4242,
        Description="web",
        Tags=[{"Key": "Name", "Value": "web"}, {"Key": "aws:cloudformation:stack-name", "Value": "s"}],
    )
    session.update(overrides)
    return {k: v for k, v in session.items() if v is not None}


@pytest.fixture
def stub(monkeypatch):
    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    stubber = Stubber(client)

    def fake_client(self, service, retry_decorator=None, **kwargs):
        return RetryingBotoClientWrapper(client, retry_decorator)

    monkeypatch.setattr(AnsibleAWSModule, "client", fake_client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def describe_by_slot(stub, found):
    stub.add_response(
        "describe_traffic_mirror_sessions",
        {"TrafficMirrorSessions": found},
        {
            "Filters": [
                {"Name": "network-interface-id", "Values": [ENI]},
                {"Name": "session-number", "Values": ["1"]},
            ]
        },
    )


def run(**args):
    check_mode = args.pop("check_mode", False)
    base = dict(CONNECTION, network_interface_id=ENI, session_number=1)
    base.update(args)
    return run_module(module.main, base, check_mode=check_mode)


def test_modify_carries_only_what_differs(stub):
    describe_by_slot(stub, [aws_session()])
    stub.add_response(
        "modify_traffic_mirror_session",
        {"TrafficMirrorSession": aws_session(PacketLength=None, TrafficMirrorFilterId="tmf-0fedcba9876543210")},
        {
            "TrafficMirrorSessionId": SESSION,
            "TrafficMirrorFilterId": "tmf-0fedcba9876543210",
            "RemoveFields": ["packet-length"],
        },
    )
    result = run(
        traffic_mirror_target_id=TARGET,
        traffic_mirror_filter_id="tmf-0fedcba9876543210",
        packet_length=0,
        virtual_network_id=4242,
        description="web",
    )
    assert result["changed"] is True
    assert "packet_length" not in result["traffic_mirror_session"]


def test_purge_never_removes_aws_tags(stub):
    describe_by_slot(stub, [aws_session()])
    stub.add_response("delete_tags", {}, {"Resources": [SESSION], "Tags": [{"Key": "Name"}]})
    result = run(tags={})
    assert result["changed"] is True
    assert result["traffic_mirror_session"]["tags"] == {"aws:cloudformation:stack-name": "s"}


def test_create_sends_tag_specifications_and_a_derived_token(stub):
    describe_by_slot(stub, [])
    expected = {
        "NetworkInterfaceId": ENI,
        "TrafficMirrorTargetId": TARGET,
        "TrafficMirrorFilterId": FILTER,
        "SessionNumber": 1,
        "PacketLength": 64,
        "TagSpecifications": [{"ResourceType": "traffic-mirror-session", "Tags": [{"Key": "Name", "Value": "x"}]}],
        "ClientToken": ANY,
    }
    stub.add_response("create_traffic_mirror_session", {"TrafficMirrorSession": aws_session()}, expected)
    result = run(traffic_mirror_target_id=TARGET, traffic_mirror_filter_id=FILTER, packet_length=64, tags={"Name": "x"})
    assert result["changed"] is True


def test_derived_token_is_stable_and_follows_the_desired_session():
    token = derived_client_token
    a = token("traffic-mirror-session", {"SessionNumber": 1, "NetworkInterfaceId": ENI})
    assert a == token("traffic-mirror-session", {"NetworkInterfaceId": ENI, "SessionNumber": 1})
    assert a != token("traffic-mirror-session", {"NetworkInterfaceId": ENI, "SessionNumber": 2})
    assert len(a) <= 64 and a.isascii()


def dry_run_answered(stub, operation, error_code, http_status, **params):
    """The session is found; then ``operation`` on it, with DryRun and ``params``, gets AWS's ``error_code``."""
    describe_by_slot(stub, [aws_session()])
    expected = dict(params, TrafficMirrorSessionId=SESSION, DryRun=True)
    stub.add_client_error(
        operation, service_error_code=error_code, http_status_code=http_status, expected_params=expected
    )


def test_check_mode_sends_dry_run_and_reports_planned_change(stub):
    dry_run_answered(stub, "modify_traffic_mirror_session", "DryRunOperation", 412, PacketLength=256)
    result = run(packet_length=256, check_mode=True)
    assert result["changed"] is True
    assert result["traffic_mirror_session"]["packet_length"] == 256


def test_unauthorized_dry_run_names_the_action(stub):
    dry_run_answered(stub, "delete_traffic_mirror_session", "UnauthorizedOperation", 403)
    result = run(state="absent", check_mode=True)
    assert result["failed"]
    assert "ec2:DeleteTrafficMirrorSession" in result["msg"]


def test_more_than_one_match_lists_the_ids(stub):
    other = "tms-0fedcba9876543210"
    describe_by_slot(stub, [aws_session(), aws_session(TrafficMirrorSessionId=other)])
    result = run(traffic_mirror_target_id=TARGET)
    assert result["failed"]
    assert SESSION in result["msg"] and other in result["msg"]


def test_both_not_found_spellings_mean_missing(stub):
    for code in ("InvalidTrafficMirrorSessionId.NotFound", "InvalidTrafficMirrorSessionNotFound"):
        stub.add_client_error(
            "describe_traffic_mirror_sessions",
            service_error_code=code,
            http_status_code=400,
            expected_params={"TrafficMirrorSessionIds": [SESSION]},
        )
    for _attempt in range(2):
        result = run_module(module.main, dict(CONNECTION, traffic_mirror_session_id=SESSION, state="absent"))
        assert result["changed"] is False and not result.get("failed")


@pytest.mark.parametrize(
    "desired",
    [
        dict(traffic_mirror_filter_id="tmf-0fedcba9876543210", packet_length=0, tags={"team": "secops"}),
        dict(description="", virtual_network_id=7, tags={"Name": "web", "team": "secops"}, purge_tags=False),
        dict(packet_length=256, description="web tier", traffic_mirror_target_id="tmt-0fedcba9876543210"),
    ],
)
def test_the_session_module_sends_exactly_the_writes_the_set_module_plans(stub, desired):
    """One planner: for the same session and the same desired options, ec2_traffic_mirror_session sends, in order,
    the requests ec2_traffic_mirror_sessions plans (state=merged)."""
    from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_session_set import plan_set

    current = aws_session()
    item = dict(network_interface_id=ENI, session_number=1, **desired)
    planned = plan_set([item], [current], "merged")["changes"]
    assert planned, "the case must plan writes"
    describe_by_slot(stub, [current])
    for change in planned:
        response = {"TrafficMirrorSession": current} if change["operation"] == "modify_traffic_mirror_session" else {}
        stub.add_response(change["operation"], response, change["request"])
    result = run(**desired)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
