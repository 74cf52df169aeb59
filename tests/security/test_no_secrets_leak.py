"""No credential leaks: the secret key and the session token never appear in what a run leaves behind.

Every module (session, target, filter and the three _info modules) runs through ansible-playbook at -vvv
with --diff, in normal and in check mode, with ANSIBLE_LOG_PATH, the junit callback (or the json stdout
callback) and a private remote/local temp directory, with failing tasks (a malformed id, an id AWS does
not know, a wrong type, credentials without the permission), and the credentials given once as module
parameters and once in the process environment (as AWX does). The credentials are fake and carry random
markers; the offline endpoint accepts any key as the account root and ignores the session token.

Searched: stdout, stderr, the Ansible log, the callback files, whatever is left in the temp directories,
the endpoint's request log and its own output. The access key id is an identifier, not a secret: it may
appear only as the request log's `access_key` and, when given as a parameter, as the `access_key` the
module echoes at -vvv (amazon.aws declares it no_log=False); nowhere else.

The audit playbook (credentials and an STS token from the environment, as AWX passes them) and the
mirror_agent role (AWS sessions resolved on the controller, then the agent's config.json and systemd unit
rendered exactly as the role's present.yml renders them) are searched the same way, with their files.
"""

import html
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import aws_lab
from helpers.playbook import local_play
from offline_ec2.testing import OfflineEC2

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLE = REPO / "roles" / "mirror_agent"
MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def fake_credentials():
    """Distinctive credentials: each value is found only where it leaked."""
    marker = secrets.token_hex(8).upper()
    return dict(
        access_key="AKIALEAK" + marker[:12],
        secret_key="SecretLeakCheck/" + secrets.token_urlsafe(24),
        session_token="TokenLeakCheck+" + secrets.token_urlsafe(96),
    )


# --- a private endpoint whose whole output is kept in a file ------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The offline endpoint, started here (not by OfflineEC2.start) so that all its output is in a file;
    OfflineEC2 is used for its control API and boto3 clients only."""
    output = tmp_path_factory.mktemp("endpoint") / "server.log"
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO / "tools"), OFFLINE_EC2_PARENT_PID=str(os.getpid()))
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "offline_ec2", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    endpoint = OfflineEC2(port=port)
    try:
        wait_until_up(endpoint, process, output)
        yield endpoint, output
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_up(endpoint, process, output, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("offline_ec2 exited: " + output.read_text())
        try:
            endpoint.requests()
            return
        except (OSError, RuntimeError, ValueError):
            time.sleep(0.1)
    raise RuntimeError("offline_ec2 did not answer: " + output.read_text())


@pytest.fixture
def account(server):
    """A fresh account with the lab (source ENIs, two targets, two filters) and an IAM user that may only
    describe; the request log empty."""
    endpoint, _output = server
    endpoint.reset()
    lab = aws_lab.build(endpoint.client("ec2"))
    denied_key, denied_secret = aws_lab.readonly_user(endpoint.client("iam"), name="leak-check-readonly")
    endpoint.clear_requests()
    return dict(lab, denied=dict(access_key=denied_key, secret_key=denied_secret))


# --- running ansible-playbook and collecting everything it leaves ----------------------------------------------


class Run:
    """One ansible-playbook run: its exit code and every text it left, by where it was found."""

    def __init__(self, returncode, texts):
        self.returncode = returncode
        self.texts = texts

    @property
    def stdout(self):
        return self.texts["stdout"]


def run_playbook(tmp_path, playbook_text, variables, env_credentials=None, options=(), stdout_callback=None):
    work = tmp_path / "run"
    for name in ("junit", "remote_tmp", "local_tmp"):
        (work / name).mkdir(parents=True)
    (work / "play.yml").write_text(playbook_text)
    (work / "vars.json").write_text(json.dumps(variables))
    env = dict(
        os.environ,
        ANSIBLE_LOG_PATH=str(work / "ansible.log"),
        ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit",
        JUNIT_OUTPUT_DIR=str(work / "junit"),
        ANSIBLE_REMOTE_TMP=str(work / "remote_tmp"),
        ANSIBLE_LOCAL_TEMP=str(work / "local_tmp"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(name, None)
    env.update(env_credentials or {})
    if stdout_callback:
        env["ANSIBLE_STDOUT_CALLBACK"] = stdout_callback
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), "-vvv", str(work / "play.yml"), "-e", "@" + str(work / "vars.json"), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    texts = {"stdout": completed.stdout, "stderr": completed.stderr}
    for path in sorted(work.rglob("*")):
        if path.is_file() and path.name not in ("play.yml", "vars.json"):
            text = path.read_text(errors="replace")
            # XML quotes the echoed parameters (&quot;); the fake secrets have no XML-special characters
            texts[str(path.relative_to(work))] = html.unescape(text) if path.suffix == ".xml" else text
    assert "ansible.log" in texts, "ANSIBLE_LOG_PATH was not written"
    return Run(completed.returncode, texts)


def endpoint_texts(server):
    """The request log without its access_key fields, and the endpoint's own output."""
    endpoint, output = server
    entries = endpoint.requests()
    others = [{k: v for k, v in entry.items() if k != "access_key"} for entry in entries]
    return entries, {"request log (other fields)": json.dumps(others), "endpoint output": output.read_text()}


def searched(record_property, texts, api_calls):
    """Figures for docs/reliability.md: how much was searched."""
    record_property("places_searched", len(texts))
    record_property("kib_searched", round(sum(len(text) for text in texts.values()) / 1024))
    record_property("api_calls", api_calls)


def leaks(texts, values):
    """(where, which) for every value found in any text."""
    return [(where, which) for where, text in texts.items() for which, value in values.items() if value in text]


def access_key_outside_its_parameter(texts, access_key):
    """Where the access key id appears other than as the module's echoed `access_key` parameter."""
    echoed = re.compile(r'"(access_key|aws_access_key_id|aws_access_key)": "' + re.escape(access_key) + '"')
    return [where for where, text in texts.items() if access_key in echoed.sub("", text)]


def texts_without_secrets(server, run, credentials, record_property):
    """Every text of a run and of the endpoint, once checked: each call used the given access key, no other
    credential appears anywhere, and the access key only as the modules' echoed parameter."""
    entries, endpoint_output = endpoint_texts(server)
    assert {entry["access_key"] for entry in entries} == {credentials["access_key"]}
    texts = dict(run.texts, **endpoint_output)
    searched(record_property, texts, len(entries))
    assert leaks(texts, {k: v for k, v in credentials.items() if k != "access_key"}) == []
    assert access_key_outside_its_parameter(texts, credentials["access_key"]) == []
    return texts


# --- the modules -----------------------------------------------------------------------------------------------

MODULES_PLAYBOOK = local_play(
    name="Every module, with failures, while credentials must stay hidden",
    group_defaults=True,
    body="""\
  vars:
    session: &session
      network_interface_id: "{{{{ lab.source_eni_ids[0] }}}}"
      session_number: 1
      traffic_mirror_target_id: "{{{{ lab.target_id }}}}"
      traffic_mirror_filter_id: "{{{{ lab.filter_id }}}}"
  tasks:
    - name: A filter with a rule and a network service
      netmirror.traffic_mirror.ec2_traffic_mirror_filter:
        name: leak-check
        description: secrets test
        ingress_rules:
          - {{rule_number: 10, rule_action: accept, protocol: 17,
             source_cidr_block: 0.0.0.0/0, destination_cidr_block: 0.0.0.0/0}}
        network_services: [amazon-dns]
        tags: {{purpose: leak-check}}
    - name: A target
      netmirror.traffic_mirror.ec2_traffic_mirror_target:
        name: leak-check
        network_interface_id: "{{{{ lab.target_eni_ids[1] }}}}"
        tags: {{purpose: leak-check}}
    - name: A session
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        packet_length: 128
        tags: {{Name: leak-check}}
    - name: The session changed
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        packet_length: 256
        description: changed
    - name: Sessions
      netmirror.traffic_mirror.ec2_traffic_mirror_session_info:
        filters: {{network-interface-id: "{{{{ lab.source_eni_ids[0] }}}}"}}
    - name: Filters
      netmirror.traffic_mirror.ec2_traffic_mirror_filter_info:
        traffic_mirror_filter_ids: ["{{{{ lab.filter_id }}}}"]
    - name: Targets
      netmirror.traffic_mirror.ec2_traffic_mirror_target_info:
        filters: {{"tag:purpose": leak-check}}
    - name: FAILS a malformed id, before any call
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        traffic_mirror_target_id: tmt-bad
      ignore_errors: true
    - name: FAILS an id AWS does not know
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        session_number: 2
        traffic_mirror_target_id: tmt-0123456789abcdef0
      ignore_errors: true
    - name: FAILS a wrong type
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        session_number: one
      ignore_errors: true
    - name: FAILS credentials that may only describe
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        session_number: 3
        access_key: "{{{{ denied.access_key }}}}"
        secret_key: "{{{{ denied.secret_key }}}}"
        session_token: ""  # not the play's token: it belongs to other keys
      ignore_errors: true
    - name: The session deleted
      netmirror.traffic_mirror.ec2_traffic_mirror_session:
        <<: *session
        state: absent
    - name: The target deleted
      netmirror.traffic_mirror.ec2_traffic_mirror_target:
        name: leak-check
        state: absent
    - name: The filter deleted
      netmirror.traffic_mirror.ec2_traffic_mirror_filter:
        name: leak-check
        state: absent
""",
)

# The messages of the four failing tasks, in both modes: proof that each failed where it should.
EXPECTED_FAILURES = (
    "traffic_mirror_target_id='tmt-bad' is not a valid id",
    "the target does not exist",
    "argument 'session_number' is of type str",
    "ec2:CreateTrafficMirrorSession",
)


def credential_parameters():
    """module_defaults lines that give the credentials as module parameters."""
    names = ("access_key", "secret_key", "session_token")
    return ["      {0}: '{{{{ credentials.{0} }}}}'".format(name) for name in names]


def credential_environment(credentials, token_variable="AWS_SESSION_TOKEN"):
    return {
        "AWS_ACCESS_KEY_ID": credentials["access_key"],
        "AWS_SECRET_ACCESS_KEY": credentials["secret_key"],
        token_variable: credentials["session_token"],
    }


def modules_playbook(credentials_as_parameters):
    lines = ["      endpoint_url: '{{ endpoint_url }}'", "      region: '{{ region }}'"]
    if credentials_as_parameters:
        lines += credential_parameters()
    return MODULES_PLAYBOOK.format(defaults="\n".join(lines))


CASES = [
    pytest.param("parameters", False, None, id="parameters-normal"),
    pytest.param("parameters", True, None, id="parameters-check"),
    pytest.param("environment", False, None, id="environment-normal"),
    pytest.param("environment", True, None, id="environment-check"),
    pytest.param("environment", False, "ansible.posix.json", id="environment-normal-json-callback"),
]


@pytest.mark.parametrize("given_as, check_mode, stdout_callback", CASES)
def test_modules_never_show_the_secret_key_or_the_token(
    server, account, tmp_path, given_as, check_mode, stdout_callback, record_property
):
    endpoint, _output = server
    credentials = fake_credentials()
    as_parameters = given_as == "parameters"
    variables = dict(endpoint_url=endpoint.endpoint_url, region=endpoint.region, lab=account, denied=account["denied"])
    environment = None
    if as_parameters:
        variables["credentials"] = credentials
    else:
        environment = credential_environment(credentials)
    options = ["--diff"] + (["--check"] if check_mode else [])
    run = run_playbook(tmp_path, modules_playbook(as_parameters), variables, environment, options, stdout_callback)

    # The run did what it was meant to: four expected failures, the rest through; the keys were used.
    assert run.returncode == 0, run.stdout[-6000:] + run.texts["stderr"][-3000:]
    assert re.search(r"failed=0 .*ignored=4", run.stdout) or '"ignored": 4' in run.stdout, run.stdout[-3000:]
    for message in EXPECTED_FAILURES:
        assert message in run.stdout, message
    entries, endpoint_output = endpoint_texts(server)
    used_keys = {entry["access_key"] for entry in entries}
    assert used_keys == {credentials["access_key"], account["denied"]["access_key"]}
    assert any(entry["dry_run"] for entry in entries) == check_mode
    # amazon.aws fills its parameters from the environment too: either way the module echoes them, masked
    assert '"secret_key": "{0}"'.format(MASK) in run.stdout
    assert '"session_token": "{0}"'.format(MASK) in run.stdout

    texts = dict(run.texts, **endpoint_output)
    searched(record_property, texts, len(entries))
    hidden = dict(secret_key=credentials["secret_key"], session_token=credentials["session_token"])
    hidden["denied user's secret_key"] = account["denied"]["secret_key"]
    assert leaks(texts, hidden) == []
    assert access_key_outside_its_parameter(texts, credentials["access_key"]) == []


def test_the_search_finds_a_leak_ansible_itself_makes(tmp_path):
    """The search is not blind: Ansible prints a task's `environment:` keyword in the -vvv EXEC line, so a
    secret given that way is found in the output and the log. (Why credentials belong in the process
    environment or in module parameters, never in `environment:`.)"""
    secret = fake_credentials()["secret_key"]
    playbook = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A secret in the environment keyword
      ansible.builtin.command: "true"
      environment:
        AWS_SECRET_ACCESS_KEY: "{{ secret }}"
"""
    run = run_playbook(tmp_path, playbook, dict(secret=secret))
    assert run.returncode == 0, run.stdout[-3000:]
    assert {where for where, _which in leaks(run.texts, dict(secret_key=secret))} == {"stdout", "ansible.log"}


# --- the audit playbook ------------------------------------------------------------------------------------------


def test_audit_report_and_output_hold_no_credentials(server, account, tmp_path, record_property):
    """AWX's credential: keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the STS token in AWS_SECURITY_TOKEN,
    which the audit playbook hands to the modules as session_token."""
    endpoint, _output = server
    credentials = fake_credentials()
    report_dir = tmp_path / "run" / "report"
    desired = [
        dict(
            network_interface_id=account["source_eni_ids"][0],
            session_number=1,
            traffic_mirror_target_id=account["target_id"],
            traffic_mirror_filter_id=account["filter_id"],
            packet_length=128,
        ),
        dict(network_interface_id=account["source_eni_ids"][1], session_number=1, traffic_mirror_target_id="tmt-bad"),
    ]
    variables = dict(
        desired_sessions=desired,
        aws_region=endpoint.region,
        aws_endpoint_url=endpoint.endpoint_url,
        audit_report_dir=str(report_dir),
    )
    playbook = (REPO / "playbooks" / "audit.yml").read_text()
    environment = credential_environment(credentials, token_variable="AWS_SECURITY_TOKEN")
    run = run_playbook(tmp_path, playbook, variables, environment, ["--diff"])

    assert run.returncode == 0, run.stdout[-6000:]
    report = json.loads(run.texts["report/mirror-audit.json"])
    assert len(report["missing"]) == 2 and len(report["errors"]) == 1  # the malformed id is reported
    assert '"session_token": "{0}"'.format(MASK) in run.stdout  # the token reached the modules, masked
    texts = texts_without_secrets(server, run, credentials, record_property)
    reports = {k: v for k, v in texts.items() if k.startswith("report/")}
    assert sorted(reports) == ["report/mirror-audit.json", "report/mirror-audit.txt"]
    assert leaks(reports, credentials) == []


# --- the mirror_agent role ---------------------------------------------------------------------------------------


def role_rendering():
    """The content of the role's config.json task and its unit template, read from present.yml, so that this test
    renders exactly what the role would install."""
    tasks = yaml.safe_load((ROLE / "tasks" / "present.yml").read_text())
    config_file = "{{ __mirror_agent_config_file }}"
    config_task = next(t for t in tasks if t.get("ansible.builtin.copy", {}).get("dest") == config_file)
    unit_task = next(t for t in tasks if "ansible.builtin.template" in t)
    return config_task["ansible.builtin.copy"]["content"], unit_task["ansible.builtin.template"]["src"]


ROLE_PLAYBOOK = local_play(
    name="Resolve AWS sessions and render the agent's files as the role does",
    group_defaults=True,
    body="""\
  tasks:
    - name: Resolve the AWS sessions, as the role does on the controller
      ansible.builtin.include_role:
        name: mirror_agent
        tasks_from: resolve_aws.yml
        public: true
    - name: The agent's config.json
      ansible.builtin.copy:
        content: {config_content}
        dest: "{{{{ out }}}}/config.json"
        mode: "0600"
    - name: The agent's systemd unit
      ansible.builtin.template:
        src: "{unit_template}"
        dest: "{{{{ out }}}}/netmirror-agent.service"
        mode: "0600"
""",
)


@pytest.mark.parametrize("given_as", ["parameters", "environment"])
def test_agent_config_and_unit_hold_no_credentials(server, account, tmp_path, given_as, record_property):
    endpoint, _output = server
    credentials = fake_credentials()
    config_content, unit_template = role_rendering()
    lines = []
    environment = None
    if given_as == "parameters":
        lines = credential_parameters()
    else:
        environment = credential_environment(credentials)
    playbook = ROLE_PLAYBOOK.format(
        defaults="\n".join(lines) or "      {}",
        config_content=json.dumps(config_content),
        unit_template=ROLE / "templates" / unit_template,
    )
    out = tmp_path / "run" / "agent_files"
    out.mkdir(parents=True)
    variables = dict(
        credentials=credentials,
        out=str(out),
        mirror_agent_aws_region=endpoint.region,
        mirror_agent_aws_endpoint_url=endpoint.endpoint_url,
        mirror_agent_aws_sessions=[
            dict(
                name="db",
                network_interface="eth0",
                session_number=1,
                virtual_network_id=77,
                traffic_mirror_target_id=account["target_id"],
                traffic_mirror_filter_id=account["filter_id"],
            )
        ],
    )
    run = run_playbook(tmp_path, playbook, variables, environment, ["--diff"])

    assert run.returncode == 0, run.stdout[-6000:] + run.texts["stderr"][-3000:]
    config = json.loads(run.texts["agent_files/config.json"])
    assert [s["name"] for s in config["sessions"]] == ["db"]  # resolved: the lookups used the credentials
    assert "ExecStart=" in run.texts["agent_files/netmirror-agent.service"]
    texts = texts_without_secrets(server, run, credentials, record_property)
    agent_files = {k: v for k, v in texts.items() if k.startswith("agent_files/")}
    assert leaks(agent_files, credentials) == []


def test_role_passes_no_credentials_to_the_host():
    """What the role installs on a host is built from these files only; none of them names a credential.
    (The AWS lookups run on the controller: resolve_aws.yml delegates them to localhost.)"""
    installed = [ROLE / "tasks" / "present.yml", ROLE / "vars" / "main.yml", *sorted((ROLE / "templates").iterdir())]
    pattern = re.compile(r"access_key|secret|session_token|security_token|AWS_[A-Z_]+|password", re.IGNORECASE)
    assert {path.name: pattern.findall(path.read_text()) for path in installed} == {p.name: [] for p in installed}
    resolve = yaml.safe_load((ROLE / "tasks" / "resolve_aws.yml").read_text())
    aws_calls = [t for t in resolve if any(k.startswith(("netmirror.", "amazon.")) for k in t)]
    assert aws_calls and all(t.get("delegate_to") == "localhost" for t in aws_calls)
