"""`make demo`: run the example playbook against the embedded offline EC2 endpoint.

Starts the endpoint on a free port on 127.0.0.1, builds what a session needs (network interfaces,
a target, a filter), runs demo/session_lifecycle.yml with ansible-playbook, and stops the endpoint.
When run as root, it then runs the mirroring agent lab (demo/agent_lab.py) if present.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tools"))  # offline_ec2
sys.path.insert(0, str(REPO / "harness"))  # aws_lab

import aws_lab  # noqa: E402
from offline_ec2.testing import OfflineEC2  # noqa: E402


def collections_path():
    """ansible_collections/netmirror/traffic_mirror -> this repository, for ansible-playbook to find."""
    root = REPO / "build" / "collections"  # the same link `make collection` makes
    link = root / "ansible_collections" / "netmirror" / "traffic_mirror"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(REPO, target_is_directory=True)
    return root


def run_playbook(endpoint, built):
    variables = dict(
        aws_region=endpoint.region,
        aws_endpoint_url=endpoint.endpoint_url,
        source_eni_id=built["source_eni_ids"][0],
        target_id=built["target_id"],
        filter_id=built["filter_id"],
        offline_endpoint_requests_url=endpoint.endpoint_url + "/_offline_ec2/requests",
    )
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(collections_path()),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        # Credentials as AWX's AWS credential type passes them: environment variables.
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as vars_file:
        json.dump(variables, vars_file)
    try:
        playbook = [str(Path(sys.executable).parent / "ansible-playbook"), str(HERE / "session_lifecycle.yml")]
        return subprocess.run(playbook + ["-e", "@" + vars_file.name], env=env, check=False).returncode
    finally:
        os.unlink(vars_file.name)


def main():
    with OfflineEC2() as endpoint:
        print("Offline EC2 endpoint at {0}".format(endpoint.endpoint_url), flush=True)
        built = aws_lab.build(endpoint.client("ec2"), prefix="demo")
        status = run_playbook(endpoint, built)
        calls = [r["action"] for r in endpoint.requests()]
        print("API calls the endpoint received: {0}".format(len(calls)))
    if status != 0:
        return status
    agent_lab = HERE / "agent_lab.py"
    if os.geteuid() == 0 and agent_lab.exists():
        return subprocess.run([sys.executable, str(agent_lab)], check=False).returncode
    if agent_lab.exists():
        print("Not root: skipping the mirroring agent lab (it needs network namespaces).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
