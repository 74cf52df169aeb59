"""Control API, request log, server lifecycle."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from offline_ec2.testing import TOOLS_DIR, OfflineEC2

from .support import code, error_of, iam_user_client


def http(aws, method, path, body=None):
    request = urllib.request.Request(
        f"{aws.endpoint_url}{path}", method=method, data=None if body is None else json.dumps(body).encode()
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def logged(service, action, dry_run=False, status=200, error_code=None):
    """One entry of the request log, as the endpoint records a call with the default keys and no fault."""
    return {
        "service": service,
        "action": action,
        "dry_run": dry_run,
        "status": status,
        "error_code": error_code,
        "access_key": "testing",
        "fault": None,
    }


def test_health(aws):
    assert http(aws, "GET", "/_offline_ec2/health") == (200, {"ok": True})


def test_unknown_path_and_wrong_method(aws):
    assert http(aws, "GET", "/_offline_ec2/nope")[0] == 404
    assert http(aws, "GET", "/_offline_ec2/reset")[0] == 405


def test_request_log_records_every_aws_call_in_order(aws, ec2):
    aws.client("iam").list_users()
    ec2.describe_traffic_mirror_sessions()
    error_of(ec2.create_traffic_mirror_filter, DryRun=True)
    assert aws.requests() == [
        logged("iam", "ListUsers"),
        logged("ec2", "DescribeTrafficMirrorSessions"),
        logged("ec2", "CreateTrafficMirrorFilter", dry_run=True, status=412, error_code="DryRunOperation"),
    ]
    aws.clear_requests()
    assert aws.requests() == []


def test_request_log_holds_no_secrets(aws):
    iam = aws.client("iam")
    iam.create_user(UserName="u")
    key = iam.create_access_key(UserName="u")["AccessKey"]
    user = aws.client(
        "ec2",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token="SESSION-TOKEN-VALUE",
    )
    error_of(user.describe_traffic_mirror_sessions)
    logged = json.dumps(aws.requests())
    assert key["AccessKeyId"] in logged
    for secret in (key["SecretAccessKey"], "SESSION-TOKEN-VALUE", "Signature", "AWS4-HMAC"):
        assert secret not in logged


def test_reset_clears_moto_and_extension_state(aws, ec2, net, make_session):
    make_session()
    iam_user_client(aws, "someone", ["ec2:*"])
    aws.reset()
    assert ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"] == []
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["Vpcs"] == []
    assert aws.client("iam").list_users()["Users"] == []
    assert [r["action"] for r in aws.requests()] == [
        "DescribeTrafficMirrorSessions",
        "DescribeVpcs",
        "ListUsers",
    ]


def test_sigterm_stops_the_server_cleanly():
    server = OfflineEC2().start()
    process = server._process
    server.stop()
    assert process.returncode == 0


def test_start_failure_reports_the_server_output(aws):
    with pytest.raises(RuntimeError, match="(?s)exited with status.*Address already in use"):
        OfflineEC2(port=aws.port, startup_timeout=15).start()


def test_refuses_to_bind_a_non_loopback_address():
    result = subprocess.run(
        [sys.executable, "-m", "offline_ec2", "--host", "0.0.0.0", "--port", "1"],
        env={"PYTHONPATH": str(TOOLS_DIR), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to bind" in result.stderr


def test_other_services_are_served_too(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="mirror-captures")
    s3.put_object(Bucket="mirror-captures", Key="a.pcap", Body=b"\x00" * 70000)
    assert len(s3.get_object(Bucket="mirror-captures", Key="a.pcap")["Body"].read()) == 70000
    assert s3.head_object(Bucket="mirror-captures", Key="a.pcap")["ContentLength"] == 70000
    assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert aws.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    logged = [(r["service"], r["action"]) for r in aws.requests()]
    assert ("sts", "GetCallerIdentity") in logged and ("s3", None) in logged


def test_server_stops_when_the_test_process_dies():
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[1]);"
        "from offline_ec2.testing import OfflineEC2;"
        "print(OfflineEC2().start()._process.pid, flush=True); os._exit(0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(TOOLS_DIR)], capture_output=True, text=True, timeout=60
    )
    server_pid = int(result.stdout.split()[0])
    process = Path(f"/proc/{server_pid}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.exists():
        time.sleep(0.1)
    assert not process.exists()


def test_seed_builds_enis_and_sessions_in_the_backend_with_the_quotas(aws, ec2):
    network = aws.create_network(eni_count=1)
    enis = aws.seed(network_interfaces={"subnet_id": network["subnet_id"], "count": 12})[
        "network_interface_ids"
    ]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=network["eni_ids"][0])["TrafficMirrorTarget"]
    mirror_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    aws.clear_requests()

    def spec(eni, number):
        return dict(
            NetworkInterfaceId=eni,
            SessionNumber=number,
            TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
            TrafficMirrorFilterId=mirror_filter,
            Tags={"seeded": "yes"},
        )

    seeded = aws.seed(sessions=[spec(enis[i // 3], i % 3 + 1) for i in range(30)])
    assert len(seeded["traffic_mirror_session_ids"]) == 30
    assert aws.requests() == []  # not in the request log
    listed = ec2.describe_traffic_mirror_sessions(Filters=[{"Name": "tag:seeded", "Values": ["yes"]}])
    assert sorted(s["TrafficMirrorSessionId"] for s in listed["TrafficMirrorSessions"]) == sorted(
        seeded["traffic_mirror_session_ids"]
    )
    assert len({s["VirtualNetworkId"] for s in listed["TrafficMirrorSessions"]}) == 30
    for bad, message in (
        (spec(enis[0], 4), "more than 3 sessions"),
        (spec(enis[0], 1), "session number 1 is already used"),
        (spec(enis[10], 1), "more than 10 sources"),
        (dict(spec(enis[11], 1), TrafficMirrorFilterId="tmf-0123456789abcdef0"), "does not exist"),
    ):
        with pytest.raises(RuntimeError, match=message):
            aws.seed(sessions=[bad])
    # The same rules as the API: a create the seeding refuses is refused there too.
    refused = {k: v for k, v in spec(enis[10], 1).items() if k != "Tags"}
    assert (
        code(error_of(ec2.create_traffic_mirror_session, **refused))
        == "TrafficMirrorSourcesPerTargetLimitExceeded"
    )
