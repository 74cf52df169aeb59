"""playbooks/audit.yml, run as `ansible-playbook netmirror.traffic_mirror.audit -e @desired.yml` against the
offline endpoint: it reports missing, extra and drifted sessions and the IAM permissions the dry runs lack,
and changes nothing (the endpoint's request log has no write without DryRun)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aws_lab

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
AWX_JOB_TEMPLATE_PLAYBOOK = Path(__file__).resolve().parents[2] / "docs" / "awx" / "audit.yml"
WRITES = ("Create", "Modify", "Delete")


def create_session(ec2, eni, number, target, mirror_filter, packet_length):
    return ec2.create_traffic_mirror_session(
        NetworkInterfaceId=eni,
        SessionNumber=number,
        TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=mirror_filter,
        PacketLength=packet_length,
    )["TrafficMirrorSession"]["TrafficMirrorSessionId"]


@pytest.fixture
def drifted_account(endpoint, lab):
    """eni0 #1 as desired, eni1 #1 drifted (target and packet length), eni1 #2 extra, eni2 #1 missing."""
    ec2, (eni0, eni1, eni2) = lab["ec2"], lab["source_eni_ids"]
    target, other_target, mirror_filter = lab["target_id"], lab["other_target_id"], lab["filter_id"]
    sessions = dict(
        in_sync=create_session(ec2, eni0, 1, target, mirror_filter, 128),
        drifted=create_session(ec2, eni1, 1, target, mirror_filter, 128),
        extra=create_session(ec2, eni1, 2, target, mirror_filter, 64),
    )
    desired = [
        dict(
            network_interface_id=eni0,
            session_number=1,
            traffic_mirror_target_id=target,
            traffic_mirror_filter_id=mirror_filter,
            packet_length=128,
        ),
        dict(
            network_interface_id=eni1,
            session_number=1,
            traffic_mirror_target_id=other_target,
            traffic_mirror_filter_id=mirror_filter,
            packet_length=256,
        ),
        dict(
            network_interface_id=eni2,
            session_number=1,
            traffic_mirror_target_id=target,
            traffic_mirror_filter_id=mirror_filter,
        ),
    ]
    endpoint.clear_requests()
    return dict(lab, sessions=sessions, desired=desired)


def run_audit(
    endpoint,
    tmp_path,
    desired,
    keys=("testing", "testing"),
    playbook="netmirror.traffic_mirror.audit",
    extra_env=None,
    options=(),
    output=None,
    **extra_vars,
):
    report_dir = tmp_path / "report"
    variables = dict(
        desired_sessions=desired,
        aws_region=endpoint.region,
        aws_endpoint_url=endpoint.endpoint_url,
        audit_report_dir=str(report_dir),
        **extra_vars,
    )
    vars_file = tmp_path / "desired.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=keys[0],
        AWS_SECRET_ACCESS_KEY=keys[1],
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        **(extra_env or {}),
    )
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook), "-e", "@" + str(vars_file), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = completed.stdout[-10000:] + completed.stderr[-5000:]
    assert completed.returncode == 0, tail
    if output is not None:
        output.append(completed.stdout)
    report = json.loads((report_dir / "mirror-audit.json").read_text())
    return report, (report_dir / "mirror-audit.txt").read_text()


def real_writes(endpoint):
    return [r["action"] for r in endpoint.requests() if r["action"].startswith(WRITES) and not r.get("dry_run")]


def dry_run_writes(endpoint):
    return sorted(r["action"] for r in endpoint.requests() if r["action"].startswith(WRITES) and r.get("dry_run"))


def all_sessions(ec2):
    return sorted(
        ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"], key=lambda s: s["TrafficMirrorSessionId"]
    )


def test_audit_reports_missing_extra_and_drifted_sessions_and_changes_nothing(endpoint, drifted_account, tmp_path):
    ec2, sessions, desired = drifted_account["ec2"], drifted_account["sessions"], drifted_account["desired"]
    before = all_sessions(ec2)
    endpoint.clear_requests()

    output = []
    report, table = run_audit(
        endpoint, tmp_path, desired, extra_env=dict(ANSIBLE_SHOW_CUSTOM_STATS="true"), output=output
    )

    assert real_writes(endpoint) == []
    assert dry_run_writes(endpoint) == ["CreateTrafficMirrorSession", "ModifyTrafficMirrorSession"]
    # One Describe for the whole scope, whatever the number of desired sessions.
    assert [r["action"] for r in endpoint.requests() if r["action"].startswith("Describe")] == [
        "DescribeTrafficMirrorSessions"
    ]
    # set_stats: the summary an AWX job shows among its artifacts.
    stats = output[0][output[0].index("CUSTOM STATS") :]
    summary = dict(missing=1, extra=1, drifted=1, permission_problems=0, errors=0)
    assert json.loads(stats[stats.index("{") : stats.rindex("}") + 1]) == dict(mirror_audit=summary), stats
    assert all_sessions(ec2) == before
    assert report["missing"] == [desired[2]]
    assert [s["traffic_mirror_session_id"] for s in report["extra"]] == [sessions["extra"]]
    assert report["drifted"] == [
        dict(
            network_interface_id=desired[1]["network_interface_id"],
            session_number=1,
            traffic_mirror_session_id=sessions["drifted"],
            changes=dict(
                traffic_mirror_target_id=dict(
                    actual=drifted_account["target_id"], desired=drifted_account["other_target_id"]
                ),
                packet_length=dict(actual=128, desired=256),
            ),
        )
    ]
    assert report["permission_problems"] == [] and report["errors"] == []
    assert sorted(report["network_interface_ids"]) == sorted(drifted_account["source_eni_ids"])
    findings = [line.split()[0] for line in table.splitlines()[2:-1]]
    assert sorted(findings) == ["drifted", "drifted", "extra", "missing"], table
    assert "packet_length: 128 -> 256" in table
    assert "Summary: 1 missing, 1 extra, 1 drifted, 0 permission problem(s), 0 error(s)." in table


def test_audit_with_describe_only_credentials_names_the_missing_permissions(endpoint, drifted_account, tmp_path):
    keys = aws_lab.readonly_user(endpoint.client("iam"))
    endpoint.clear_requests()

    report, table = run_audit(endpoint, tmp_path, drifted_account["desired"], keys=keys)

    assert real_writes(endpoint) == []
    problems = sorted((p["network_interface_id"], p["iam_action"]) for p in report["permission_problems"])
    eni0, eni1, eni2 = drifted_account["source_eni_ids"]
    assert problems == sorted([(eni1, "ec2:ModifyTrafficMirrorSession"), (eni2, "ec2:CreateTrafficMirrorSession")])
    assert report["errors"] == []
    # The plan pass sends no write, so the drift is still reported in full.
    assert [d["session_number"] for d in report["drifted"]] == [1] and len(report["missing"]) == 1
    assert "missing IAM permission ec2:CreateTrafficMirrorSession" in table


def test_audit_as_awx_job_without_dry_runs_sends_no_write_at_all(endpoint, drifted_account, tmp_path):
    # As an AWX job template of job type Check runs it: the project's wrapper playbook, --check, and keys and
    # STS token in the environment variables AWX's AWS credential type sets.
    awx_credential = dict(AWS_SECURITY_TOKEN="sts-token-from-awx")
    report, table = run_audit(
        endpoint,
        tmp_path,
        drifted_account["desired"],
        playbook=AWX_JOB_TEMPLATE_PLAYBOOK,
        extra_env=awx_credential,
        options=["--check"],
        check_mode_dry_run=False,
        audit_agent_hosts=["sensor-1"],
    )

    assert [r for r in endpoint.requests() if r["action"].startswith(WRITES)] == []
    assert report["check_mode_dry_run"] is False
    assert len(report["drifted"]) == 1 and len(report["missing"]) == 1 and len(report["extra"]) == 1
    assert "dry runs: False" in table
    # The hook for the mirroring agent's hosts: listed, not audited yet.
    assert [a["host"] for a in report["agent_hosts"]] == ["sensor-1"]
    assert "not audited" in report["agent_hosts"][0]["status"] and "sensor-1" in table


def test_audit_can_fail_the_run_on_drift(endpoint, drifted_account, tmp_path):
    with pytest.raises(AssertionError, match="The audit found differences"):
        run_audit(endpoint, tmp_path, drifted_account["desired"], audit_fail_on_drift=True)
    assert real_writes(endpoint) == []


def test_audit_reports_a_session_it_cannot_plan_and_audits_the_others(endpoint, drifted_account, tmp_path):
    eni2 = drifted_account["source_eni_ids"][2]
    desired = drifted_account["desired"][:2] + [dict(network_interface_id=eni2, session_number=1)]  # no target

    report, table = run_audit(endpoint, tmp_path, desired)

    assert real_writes(endpoint) == []
    (error,) = report["errors"]
    assert error["network_interface_id"] == eni2 and error["session_number"] == 1
    assert "requires traffic_mirror_target_id and traffic_mirror_filter_id" in error["message"]
    assert report["missing"] == [desired[2]]
    assert len(report["drifted"]) == 1 and len(report["extra"]) == 1
    assert "1 error(s)" in table


def test_audit_reports_a_task_that_fails_before_any_plan(endpoint, drifted_account, tmp_path):
    eni0 = drifted_account["source_eni_ids"][0]
    base = drifted_account["desired"][0]
    desired = [dict(base, session_number=n) for n in (1, 2, 3, 4)]  # AWS allows 3 per interface

    report, table = run_audit(endpoint, tmp_path, desired)

    (error,) = report["errors"]
    assert "4 sessions on network_interface_id={0!r}".format(eni0) in error["message"]
    assert "1 error(s)" in table
    assert [r for r in endpoint.requests() if r["action"].startswith(WRITES)] == []
