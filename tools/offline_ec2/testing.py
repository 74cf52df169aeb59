"""Test helper: run the offline EC2 endpoint in a subprocess.

Stable API (module tests and the demo rely on it):

    from offline_ec2.testing import OfflineEC2

    with OfflineEC2() as aws:                 # start() ... stop()
        ec2 = aws.client("ec2")               # boto3 client: endpoint, region, keys "testing"
        net = aws.create_network(eni_count=3)
        aws.set_faults(throttle={"count": 2, "actions": ["DescribeTrafficMirrorSessions"]})
        ...
        aws.requests()                        # [{"service", "action", "dry_run", "status",
                                              #   "error_code", "access_key", "fault"}, ...]
        aws.reset()                           # all state, faults and the request log

Attributes: endpoint_url ("http://127.0.0.1:<port>"), port, region ("us-east-1").
Methods:
    start()                 launch `python -m offline_ec2 --port <free port>` and wait
                            (up to startup_timeout s) for /_offline_ec2/health
    stop()                  terminate the server
    reset()                 POST /_offline_ec2/reset
    requests()              the request log (list of dicts, oldest first)
    clear_requests()        DELETE /_offline_ec2/requests
    set_faults(**spec)      POST /_offline_ec2/faults, e.g.
                            set_faults(throttle={"count": 1}, describe_lag={"calls": 2});
                            returns the faults now armed
    faults()                GET /_offline_ec2/faults
    clear_faults()          DELETE /_offline_ec2/faults
    client(service, **kw)   boto3 client for the endpoint; kw override the defaults
                            (e.g. aws_access_key_id=..., config=...)
    create_network(eni_count=3) -> dict (a new, separate network on each call) with
        vpc_id, subnet_id, eni_ids (list of eni_count ids),
        nlb_arn (a Network Load Balancer),
        gwlb_arn, gwlb_endpoint_id (a GatewayLoadBalancer VPC endpoint)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

TOOLS_DIR = Path(__file__).resolve().parent.parent
LISTENING_LINE = "offline_ec2 listening on"  # printed by server.serve() once bound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OfflineEC2:
    region = "us-east-1"

    def __init__(self, port: int | None = None, startup_timeout: float = 30.0):
        self.port = port or _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen | None = None
        self._log: Any = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> OfflineEC2:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS_DIR), env.get("PYTHONPATH")]))
        env["OFFLINE_EC2_PARENT_PID"] = str(os.getpid())  # the server stops if we die
        # A file, not a pipe: an unread pipe fills up and blocks the server.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives until stop()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "offline_ec2", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"exited with status {self._process.returncode}")
            # Our process must have bound the port (it says so) before health
            # counts: another server on the same port could answer otherwise.
            if LISTENING_LINE in self._server_output():
                try:
                    if self._control("GET", "health").get("ok"):
                        return self
                except (OSError, ValueError, RuntimeError):
                    pass
            time.sleep(0.05)
        self._fail(f"did not answer /_offline_ec2/health within {self.startup_timeout} s")
        return self

    def _fail(self, what: str) -> None:
        output = self._server_output()
        self.stop()
        raise RuntimeError(f"offline_ec2 server {what}. Its output:\n{output}")

    def _server_output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-20000:]

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> OfflineEC2:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- control API ---------------------------------------------------------
    def _control(self, method: str, name: str, payload: Any = None, timeout: float = 10) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}/_offline_ec2/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise RuntimeError(
                f"{method} /_offline_ec2/{name}: {error.code} {error.read().decode()}"
            ) from None

    def reset(self) -> None:
        self._control("POST", "reset")

    def requests(self) -> list[dict[str, Any]]:
        return self._control("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self._control("DELETE", "requests")

    def set_faults(self, **spec: Any) -> dict[str, Any]:
        return self._control("POST", "faults", spec)

    def faults(self) -> dict[str, Any]:
        return self._control("GET", "faults")

    def seed(self, **body: Any) -> dict[str, Any]:
        """ENIs and sessions built in the backend (offline_ec2/seed.py): fast, quotas checked, not logged."""
        return self._control("POST", "seed", dict(body, region=body.get("region", self.region)), timeout=300)

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    # -- AWS side ------------------------------------------------------------
    def client(self, service: str, **kw: Any) -> Any:
        import boto3

        settings = {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        settings.update(kw)
        return boto3.client(service, **settings)

    def create_network(self, eni_count: int = 3) -> dict[str, Any]:
        ec2 = self.client("ec2")
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet_id = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{self.region}a"
        )["Subnet"]["SubnetId"]
        eni_ids = [
            ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]["NetworkInterfaceId"]
            for _ in range(eni_count)
        ]
        elbv2 = self.client("elbv2")
        suffix = uuid.uuid4().hex[:8]  # load balancer names are unique: allow repeated calls
        nlb_arn = elbv2.create_load_balancer(
            Name=f"mirror-nlb-{suffix}", Subnets=[subnet_id], Type="network"
        )["LoadBalancers"][0]["LoadBalancerArn"]
        gwlb_arn = elbv2.create_load_balancer(
            Name=f"mirror-gwlb-{suffix}", Subnets=[subnet_id], Type="gateway"
        )["LoadBalancers"][0]["LoadBalancerArn"]
        service_name = ec2.create_vpc_endpoint_service_configuration(
            GatewayLoadBalancerArns=[gwlb_arn], AcceptanceRequired=False
        )["ServiceConfiguration"]["ServiceName"]
        gwlb_endpoint_id = ec2.create_vpc_endpoint(
            VpcEndpointType="GatewayLoadBalancer",
            VpcId=vpc_id,
            ServiceName=service_name,
            SubnetIds=[subnet_id],
        )["VpcEndpoint"]["VpcEndpointId"]
        return {
            "vpc_id": vpc_id,
            "subnet_id": subnet_id,
            "eni_ids": eni_ids,
            "nlb_arn": nlb_arn,
            "gwlb_arn": gwlb_arn,
            "gwlb_endpoint_id": gwlb_endpoint_id,
        }
