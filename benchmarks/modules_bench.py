"""API calls, convergence time and _info at scale of the collection's modules, run by ansible-playbook.

Against the offline EC2 endpoint: the calls each operation makes (from the endpoint's request log), the
wall and CPU time of one playbook converging many sessions beside amazon.aws modules of the same loop
shape in the same run, ec2_traffic_mirror_session_info over thousands of sessions (pages, time,
memory), and a fleet audit at the account quota: one check-mode ec2_traffic_mirror_sessions task
(state=overridden) over 10,000 desired sessions, beside the per-item loop of ec2_traffic_mirror_session
(the audit before the set module) on a 50-session sample of the same account.

    .venv/bin/python benchmarks/modules_bench.py [--quick] [--sections fleet] [--out DIR]

--sections runs only the named sections and keeps the others' figures from DIR/modules_bench.json.
"""

import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

import aws_lab  # noqa: E402
from offline_ec2.testing import OfflineEC2  # noqa: E402

NAME = "modules_bench"
COLLECTIONS_ROOT = os.path.join(common.ROOT, "tests", "output", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SESSION = "netmirror.traffic_mirror.ec2_traffic_mirror_session"
SESSION_INFO = "netmirror.traffic_mirror.ec2_traffic_mirror_session_info"
TARGET = "netmirror.traffic_mirror.ec2_traffic_mirror_target"
FILTER = "netmirror.traffic_mirror.ec2_traffic_mirror_filter"
SECURITY_GROUP = "amazon.aws.ec2_security_group"
KEY_PAIR = "amazon.aws.ec2_key"
CONVERGED = (SESSION, KEY_PAIR, SECURITY_GROUP)  # ours, then amazon.aws's, in every table and plot
WRITE_PREFIXES = ("Create", "Modify", "Delete", "Authorize", "Revoke")
SESSIONS_PER_ENI = 3  # AWS's quota, which the endpoint enforces
SIZES = {
    False: {"convergence": 100, "no_change_repeats": 2, "info": 5000, "startups": 3, "fleet": 10000, "sample": 50},
    True: {"convergence": 1, "no_change_repeats": 1, "info": 50, "startups": 1, "fleet": 200, "sample": 5},
}
SECTIONS = ("calls", "convergence", "info", "fleet")
SESSIONS = "netmirror.traffic_mirror.ec2_traffic_mirror_sessions"
SOURCES_PER_ENI_TARGET = 10  # AWS's quota, which the endpoint (and its seeding) enforces
FLEET_GOALS = {"seconds": 30.0, "max_rss_mib": 300.0, "ratio": 300.0}
CORE_OPS = ("create", "no-op", "modify", "tag change", "delete")


# --- the offline account --------------------------------------------------------------------------


def build_lab(endpoint, eni_count):
    """harness/aws_lab.py's lab at scale: `eni_count` source ENIs, an NLB target, one filter."""
    return aws_lab.build_at_scale(endpoint.client("ec2"), endpoint.client("elbv2"), eni_count, endpoint.region + "a")


def label(request):
    return request["action"] + (" (DryRun)" if request.get("dry_run") else "")


def is_write(action):
    return action.startswith(WRITE_PREFIXES)


def summarize_calls(requests):
    """Counts by action (DryRun calls apart), reads, real writes, DryRun writes and unexpected errors."""
    calls = collections.Counter(label(r) for r in requests)
    errors = [
        "%s: %s" % (r["action"], r["error_code"])
        for r in requests
        if r["status"] >= 400 and r.get("error_code") != "DryRunOperation"
    ]
    return {
        "calls": dict(sorted(calls.items())),
        "total": len(requests),
        "reads": sum(1 for r in requests if not is_write(r["action"])),
        "writes": sum(1 for r in requests if is_write(r["action"]) and not r.get("dry_run")),
        "dry_run_writes": sum(1 for r in requests if is_write(r["action"]) and r.get("dry_run")),
        "errors": errors,
    }


# --- running ansible-playbook ---------------------------------------------------------------------

# no colours, warnings or retry files in what the benchmark reads
QUIET_ANSIBLE = {
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_LOCALHOST_WARNING": "false",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    "ANSIBLE_RETRY_FILES_ENABLED": "false",
}


def link_collection():
    """ansible_collections/netmirror/traffic_mirror -> the repository (as tests/conftest.py does)."""
    link = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "netmirror", "traffic_mirror")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.islink(link):
        os.symlink(common.ROOT, link, target_is_directory=True)


# Peak RSS must be read from the process's own memory map (VmHWM): rusage's ru_maxrss survives exec, so a
# process started by a bigger one (the benchmark, an Ansible worker) reports its parent's peak as its own.
MODULE_WRAPPER = '''#!{python}
"""ansible_python_interpreter for measured runs: runs the module in this process, and at exit records
its VmHWM, CPU time and seconds since the process started."""
import atexit, json, os, runpy, sys


def report():
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open("/proc/self/stat") as stat:
        started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as uptime:
        seconds = float(uptime.read().split()[0]) - started
    cpu = os.times()
    with open(os.environ["NETMIRROR_BENCH_MODULE_LOG"], "a") as log:
        log.write(json.dumps({{"seconds": seconds, "cpu_seconds": cpu.user + cpu.system, "max_rss_kib": hwm}}) + "\\n")


atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''

# Starts ansible-playbook from a small process and reports the children's rusage: the largest peak RSS
# of any process of the playbook, and their CPU time.
LAUNCHER = """#!{python}
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({{"max_rss_kib": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime}}, out)
sys.exit(code)
"""


def write_script(path, template):
    with open(path, "w") as handle:
        handle.write(template.format(python=sys.executable))
    os.chmod(path, 0o755)
    return path


class Ansible:
    """Writes plays as JSON files and runs them with ansible-playbook against the endpoint."""

    def __init__(self, endpoint, workdir):
        self.endpoint = endpoint
        self.workdir = workdir
        self.runs = 0
        self.module_log = os.path.join(workdir, "module-runs.jsonl")
        self.wrapper = write_script(os.path.join(workdir, "measured-python"), MODULE_WRAPPER)
        self.launcher = write_script(os.path.join(workdir, "launch"), LAUNCHER)
        self.rusage = os.path.join(workdir, "rusage.json")
        self.env = dict(os.environ, **QUIET_ANSIBLE, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT)
        self.env.update(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", NETMIRROR_BENCH_MODULE_LOG=self.module_log
        )
        self.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

    def play(self, tasks, measured_interpreter=False):
        return [
            {
                "name": "bench",
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": False,
                "vars": {"ansible_python_interpreter": self.wrapper if measured_interpreter else sys.executable},
                "module_defaults": {
                    # The collection's group extends amazon.aws's: one block serves both.
                    "group/netmirror.traffic_mirror.aws": {
                        "region": self.endpoint.region,
                        "endpoint_url": self.endpoint.endpoint_url,
                    }
                },
                "tasks": tasks,
            }
        ]

    def run(self, tasks, extra_vars=None, json_output=True, measured_interpreter=False):
        """Run one playbook; returns wall seconds, CPU seconds and the largest peak RSS of its processes,
        the per-task results when `json_output` (the ansible.posix.json callback), and the measured module runs."""
        self.runs += 1
        playbook = os.path.join(self.workdir, "play-%02d.json" % self.runs)
        with open(playbook, "w") as handle:
            json.dump(self.play(tasks, measured_interpreter), handle)
        variables = os.path.join(self.workdir, "vars-%02d.json" % self.runs)
        with open(variables, "w") as handle:
            json.dump(extra_vars or {}, handle)
        return self.run_playbook(playbook, variables, json_output)

    def run_playbook(self, playbook, variables, json_output=False):
        """ansible-playbook `playbook` -e @`variables` (a file), measured as run() describes."""
        env = dict(self.env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json" if json_output else "default")
        if os.path.exists(self.module_log):
            os.unlink(self.module_log)
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            command = [self.launcher, self.rusage, ANSIBLE_PLAYBOOK, playbook, "-e", "@" + variables]
            start = time.monotonic()
            code = subprocess.call(command, env=env, stdout=stdout, stderr=stderr)
            seconds = time.monotonic() - start
            stdout.seek(0)
            stderr.seek(0)
            out, err = stdout.read().decode(), stderr.read().decode()
        if code != 0:
            raise RuntimeError("ansible-playbook failed (%d):\n%s\n%s" % (code, out[-6000:], err[-3000:]))
        with open(self.rusage) as handle:
            usage = json.load(handle)
        return {
            "seconds": seconds,
            "cpu_seconds": usage["cpu_seconds"],
            "tree_max_rss_kib": usage["max_rss_kib"],
            "tasks": task_results(out) if json_output else None,
            "module_runs": self.module_runs(),
        }

    def module_runs(self):
        if not os.path.exists(self.module_log):
            return []
        with open(self.module_log) as handle:
            return [json.loads(line) for line in handle if line.strip()]


def task_results(stdout):
    """(task name, localhost result) per task, from the ansible.posix.json callback's output."""
    report = json.loads(stdout[stdout.index("{") :])
    return [(t["task"]["name"], t["hosts"]["localhost"]) for play in report["plays"] for t in play["tasks"]]


def startup_cost(ansible, repeats):
    """ansible-playbook's own cost (wall and CPU seconds, the best of `repeats`): a play that runs no module."""
    task = {"name": "nothing", "ansible.builtin.set_fact": {"bench_nothing": True}}
    runs = [ansible.run([task], json_output=False) for _ in range(repeats)]
    return {"seconds": min(r["seconds"] for r in runs), "cpu_seconds": min(r["cpu_seconds"] for r in runs)}


# --- 1. API calls per operation -------------------------------------------------------------------


def operations(lab):
    """(module label, operation, module, arguments, check mode), run in this order in one play."""
    eni, target_eni = lab["eni_ids"][0], lab["eni_ids"][1]
    session = dict(
        network_interface_id=eni,
        session_number=1,
        traffic_mirror_target_id=lab["target_id"],
        traffic_mirror_filter_id=lab["filter_id"],
        packet_length=128,
        description="bench",
        tags={"Name": "bench", "team": "secops"},
    )
    absent_session = dict(network_interface_id=eni, session_number=1, state="absent")
    rule = dict(rule_number=10, rule_action="accept", protocol=6, source_cidr_block="0.0.0.0/0")
    filter_args = dict(
        name="bench-filter",
        description="bench",
        ingress_rules=[
            dict(rule, destination_cidr_block="10.0.0.0/8", destination_port_range=dict(from_port=443, to_port=443)),
            dict(rule, rule_number=20, protocol=17, destination_cidr_block="10.0.0.0/8"),
        ],
        egress_rules=[dict(rule, destination_cidr_block="0.0.0.0/0")],
        tags={"team": "secops"},
    )
    modified_rules = [dict(filter_args["ingress_rules"][0], destination_port_range=dict(from_port=80, to_port=80))]
    modified_rules.append(filter_args["ingress_rules"][1])
    target_args = dict(name="bench-target", network_interface_id=target_eni, description="bench", tags={"team": "a"})
    group = dict(name="bench-sg", description="bench", vpc_id=lab["vpc_id"], tags={"Name": "bench", "team": "secops"})
    https_in = [dict(proto="tcp", ports=[443], cidr_ip="10.0.0.0/8")]
    return [
        ("session", "create", SESSION, session, False),
        ("session", "no-op", SESSION, session, False),
        ("session", "modify", SESSION, dict(session, packet_length=256), False),
        (
            "session",
            "tag change",
            SESSION,
            dict(session, packet_length=256, tags={"Name": "bench", "env": "lab"}),
            False,
        ),
        ("session", "check mode: modify", SESSION, dict(session, packet_length=64), True),
        ("session", "check mode: delete", SESSION, absent_session, True),
        ("session", "delete", SESSION, absent_session, False),
        ("session", "delete (already absent)", SESSION, absent_session, False),
        ("session", "check mode: create", SESSION, session, True),
        ("filter", "create", FILTER, filter_args, False),
        ("filter", "no-op", FILTER, filter_args, False),
        ("filter", "modify", FILTER, dict(filter_args, ingress_rules=modified_rules), False),
        ("filter", "tag change", FILTER, dict(filter_args, ingress_rules=modified_rules, tags={"team": "b"}), False),
        ("filter", "delete", FILTER, dict(name="bench-filter", state="absent"), False),
        ("target", "create", TARGET, target_args, False),
        ("target", "no-op", TARGET, target_args, False),
        ("target", "modify", TARGET, dict(target_args, description="moved", replace=True), False),
        ("target", "tag change", TARGET, dict(target_args, description="moved", tags={"team": "b"}), False),
        ("target", "delete", TARGET, dict(name="bench-target", state="absent"), False),
        ("amazon.aws sg", "create", SECURITY_GROUP, group, False),
        ("amazon.aws sg", "no-op", SECURITY_GROUP, group, False),
        ("amazon.aws sg", "modify", SECURITY_GROUP, dict(group, rules=https_in), False),
        ("amazon.aws sg", "tag change", SECURITY_GROUP, dict(group, rules=https_in, tags={"Name": "bench"}), False),
        ("amazon.aws sg", "delete", SECURITY_GROUP, dict(name="bench-sg", vpc_id=lab["vpc_id"], state="absent"), False),
    ]


def calls_per_operation(ansible, endpoint):
    """Every operation as one task with its own access key, so the request log tells them apart."""
    endpoint.reset()
    lab = build_lab(endpoint, eni_count=2)
    ops = operations(lab)
    tasks = []
    for index, (kind, op, module, args, check) in enumerate(ops):
        marker = "BENCHOP%03d" % index  # any key not of an IAM user is the account root
        tasks.append({"name": "%s %s" % (kind, op), module: dict(args, access_key=marker), "check_mode": check})
    endpoint.clear_requests()
    run = ansible.run(tasks)
    by_key = collections.defaultdict(list)
    for request in endpoint.requests():
        by_key[request["access_key"]].append(request)
    rows = []
    for index, ((kind, op, module, _args, check), (_name, outcome)) in enumerate(zip(ops, run["tasks"])):
        row = {"module": kind, "operation": op, "fqcn": module, "check_mode": check}
        row["changed"] = bool(outcome.get("changed"))
        row.update(summarize_calls(by_key["BENCHOP%03d" % index]))
        rows.append(row)
    return rows


# --- 2. converging N sessions, beside amazon.aws -------------------------------------------------


def convergence_tasks(lab, count):
    """The same loop shape for both modules: N items, each a tagged resource found by its identity."""
    items = [
        {"eni": lab["eni_ids"][i // SESSIONS_PER_ENI], "number": i % SESSIONS_PER_ENI + 1, "name": "bench-%03d" % i}
        for i in range(count)
    ]
    tags = {"Name": "{{ item.name }}", "bench": "convergence"}
    ours = {
        "name": "converge sessions",
        SESSION: {
            "network_interface_id": "{{ item.eni }}",
            "session_number": "{{ item.number }}",
            "traffic_mirror_target_id": lab["target_id"],
            "traffic_mirror_filter_id": lab["filter_id"],
            "description": "bench",
            "tags": tags,
        },
        "loop": "{{ bench_items }}",
    }
    groups = {
        "name": "converge security groups",
        SECURITY_GROUP: {"name": "{{ item.name }}", "description": "bench", "vpc_id": lab["vpc_id"], "tags": tags},
        "loop": "{{ bench_items }}",
    }
    # ed25519: the endpoint makes the key, and an RSA key would mostly time key generation.
    keys = {
        "name": "converge key pairs",
        KEY_PAIR: {"name": "{{ item.name }}", "key_type": "ed25519", "tags": tags},
        "loop": "{{ bench_items }}",
    }
    return {"items": items, SESSION: ours, SECURITY_GROUP: groups, KEY_PAIR: keys}


def converge_once(ansible, endpoint, task, items):
    endpoint.clear_requests()
    run = ansible.run([task], {"bench_items": items})
    ((_name, outcome),) = run["tasks"]
    results = outcome.get("results", [])
    summary = summarize_calls(endpoint.requests())
    return {
        "seconds": run["seconds"],
        "cpu_seconds": run["cpu_seconds"],
        "items": len(results),
        "changed": sum(1 for r in results if r.get("changed")),
        "failed": sum(1 for r in results if r.get("failed")),
        "calls_per_item": {k: v / len(items) for k, v in summary["calls"].items()},
        **summary,
    }


def fastest(previous, run):
    """The faster of two runs of the same phase, with every run's wall time kept."""
    seconds = (previous["repeat_seconds"] if previous else []) + [run["seconds"]]
    best = run if previous is None or run["seconds"] < previous["seconds"] else previous
    return dict(best, repeat_seconds=seconds)


def convergence(ansible, endpoint, count, startup, no_change_repeats):
    endpoint.reset()
    lab = build_lab(endpoint, eni_count=math.ceil(count / SESSIONS_PER_ENI))
    tasks = convergence_tasks(lab, count)
    runs = {module: {} for module in CONVERGED}
    # Interleaved, so that load on the shared machine falls on all alike; only an unchanged run can repeat.
    for phase, repeats in (("create", 1), ("no change", no_change_repeats)):
        for _ in range(repeats):
            for module in runs:
                print("converge %d x %s: %s ..." % (count, module, phase), file=sys.stderr, flush=True)
                run = converge_once(ansible, endpoint, tasks[module], tasks["items"])
                runs[module][phase] = fastest(runs[module].get(phase), run)
    for module_runs in runs.values():
        for run in module_runs.values():
            run["seconds_per_item"] = (run["seconds"] - startup["seconds"]) / count
            run["cpu_seconds_per_item"] = (run["cpu_seconds"] - startup["cpu_seconds"]) / count
    return {
        "count": count,
        "runs": runs,
        "ratio_ours_to_theirs": ratios(runs, "seconds"),
        "cpu_ratio_ours_to_theirs": ratios(runs, "cpu_seconds_per_item"),
    }


def ratios(runs, measure):
    """Ours / theirs for each amazon.aws module and phase: below 1, ours costs less."""
    return {
        module: {phase: runs[SESSION][phase][measure] / runs[module][phase][measure] for phase in runs[SESSION]}
        for module in runs
        if module != SESSION
    }


# --- 3. _info over many sessions ------------------------------------------------------------------


def seed_sessions(endpoint, lab, count):
    """Create `count` sessions with boto3; returns seconds per 10% slice to show whether creates slow down."""
    ec2 = endpoint.client("ec2")
    slice_size = max(1, count // 10)
    slices, start = [], time.monotonic()
    for i in range(count):
        ec2.create_traffic_mirror_session(
            NetworkInterfaceId=lab["eni_ids"][i // SESSIONS_PER_ENI],
            SessionNumber=i % SESSIONS_PER_ENI + 1,
            TrafficMirrorTargetId=lab["target_id"],
            TrafficMirrorFilterId=lab["filter_id"],
            Description="bench-%05d" % i,
            TagSpecifications=[{"ResourceType": "traffic-mirror-session", "Tags": [{"Key": "bench", "Value": "info"}]}],
        )
        if (i + 1) % slice_size == 0:
            slices.append(time.monotonic() - start)
            start = time.monotonic()
    return slices


def describe_with_boto3(endpoint, page_size=None):
    """The endpoint's own cost of listing every session: boto3's paginator, no Ansible."""
    endpoint.clear_requests()
    paginator = endpoint.client("ec2").get_paginator("describe_traffic_mirror_sessions")
    config = {"PageSize": page_size} if page_size else {}
    start = time.monotonic()
    sessions = paginator.paginate(PaginationConfig=config).build_full_result()["TrafficMirrorSessions"]
    seconds = time.monotonic() - start
    return {"page_size": page_size, "seconds": seconds, "sessions": len(sessions), "pages": describe_pages(endpoint)}


def describe_pages(endpoint):
    return sum(1 for r in endpoint.requests() if r["action"] == "DescribeTrafficMirrorSessions")


def info_module_run(ansible, endpoint, filters, expected):
    """One ec2_traffic_mirror_session_info task (interpreter wrapped to measure the module process)."""
    tasks = [
        {"name": "list sessions", SESSION_INFO: {"filters": filters}, "register": "listed"},
        # The play fails unless the module returned every session.
        {
            "name": "check count",
            "ansible.builtin.assert": {"that": ["listed.traffic_mirror_sessions | length == %d" % expected]},
        },
    ]
    endpoint.clear_requests()
    run = ansible.run(tasks, json_output=False, measured_interpreter=True)
    (module,) = run["module_runs"]
    return {
        "filters": filters,
        "sessions": expected,
        "playbook_seconds": run["seconds"],
        "module_seconds": module["seconds"],
        "module_cpu_seconds": module["cpu_seconds"],
        "module_max_rss_mib": module["max_rss_kib"] / 1024,
        "tree_max_rss_mib": run["tree_max_rss_kib"] / 1024,
        "pages": describe_pages(endpoint),
        "calls": summarize_calls(endpoint.requests())["calls"],
    }


def info_at_scale(ansible, endpoint, count):
    endpoint.reset()
    start = time.monotonic()
    lab = build_lab(endpoint, eni_count=math.ceil(count / SESSIONS_PER_ENI))
    lab_seconds = time.monotonic() - start
    print("seeding %d sessions ..." % count, file=sys.stderr, flush=True)
    slices = seed_sessions(endpoint, lab, count)
    print("listing them ...", file=sys.stderr, flush=True)
    return {
        "count": count,
        "enis": len(lab["eni_ids"]),
        "lab_seconds": lab_seconds,
        "seed_seconds": sum(slices),
        "seed_slice_seconds": slices,
        "boto3": [describe_with_boto3(endpoint), describe_with_boto3(endpoint, page_size=1000)],
        "module": info_module_run(ansible, endpoint, {}, count),
        # Same module and state, nothing returned: what the module costs without the sessions.
        "module_empty": info_module_run(ansible, endpoint, {"session-number": "32766"}, 0),
    }


# --- 4. a fleet audit at the account quota ----------------------------------------------------------


def fleet_layout(count):
    """Slots for `count` desired sessions and count/20 extra ones, 3 per source ENI: [(kind, eni index, number)].

    Every 21st slot is extra; of the desired ones, every tenth is missing and every tenth (offset 1) drifted.
    """
    slots, desired = [], 0
    for slot in range(count + count // 20):
        eni, number = slot // SESSIONS_PER_ENI, slot % SESSIONS_PER_ENI + 1
        if slot % 21 == 20 or desired == count:
            slots.append(("extra", eni, number))
            continue
        slots.append(({0: "missing", 1: "drifted"}.get(desired % 10, "in sync"), eni, number))
        desired += 1
    return slots


def build_fleet(endpoint, count):
    """The account: source ENIs and sessions seeded in the endpoint's backend, ENI targets (10 sources each)."""
    endpoint.reset()
    ec2 = endpoint.client("ec2")
    slots = fleet_layout(count)
    eni_count = slots[-1][1] + 1
    _vpc, subnet_id = aws_lab.network(ec2, "10.96.0.0/16", "10.96.0.0/16", endpoint.region + "a")
    target_count = math.ceil(eni_count / SOURCES_PER_ENI_TARGET)
    start = time.monotonic()
    seeded = endpoint.seed(network_interfaces={"subnet_id": subnet_id, "count": eni_count + target_count})
    enis = seeded["network_interface_ids"]
    sources, target_enis = enis[:eni_count], enis[eni_count:]
    targets = [
        ec2.create_traffic_mirror_target(NetworkInterfaceId=eni)["TrafficMirrorTarget"]["TrafficMirrorTargetId"]
        for eni in target_enis
    ]
    mirror_filter = ec2.create_traffic_mirror_filter(Description="fleet")["TrafficMirrorFilter"]
    filter_id = mirror_filter["TrafficMirrorFilterId"]
    desired, existing, expected = [], [], {"missing": [], "drifted": [], "extra": []}
    for kind, eni, number in slots:
        session = {
            "network_interface_id": sources[eni],
            "session_number": number,
            "traffic_mirror_target_id": targets[eni // SOURCES_PER_ENI_TARGET],
            "traffic_mirror_filter_id": filter_id,
            "packet_length": 128,
            "tags": {"fleet": "bench"},
        }
        if kind != "extra":
            if kind == "missing":
                expected["missing"].append(len(desired))
            desired.append(session)
        if kind != "missing":
            existing.append((kind, session))
    specs = [
        {
            "NetworkInterfaceId": s["network_interface_id"],
            "SessionNumber": s["session_number"],
            "TrafficMirrorTargetId": s["traffic_mirror_target_id"],
            "TrafficMirrorFilterId": s["traffic_mirror_filter_id"],
            "PacketLength": 64 if kind == "drifted" else s["packet_length"],
            "Tags": s["tags"],
        }
        for kind, s in existing
    ]
    ids = endpoint.seed(sessions=specs)["traffic_mirror_session_ids"]
    for (kind, _session), session_id in zip(existing, ids):
        if kind in ("drifted", "extra"):
            expected[kind].append(session_id)
    return {
        "desired": desired,
        "expected": expected,
        "seeded": len(ids),
        "enis": eni_count,
        "targets": len(targets),
        "seed_seconds": time.monotonic() - start,
    }


def findings_task(register, path):
    """Writes what the audit found, as ids, to a file: the play's output stays small at any size."""
    found = (
        "{{ {'missing': %(r)s.missing_indexes, "
        "'extra': %(r)s.extra | map(attribute='traffic_mirror_session_id') | list, "
        "'drifted': %(r)s.drifted | map(attribute='traffic_mirror_session_id') | list, "
        "'changes': %(r)s.changes | map(attribute='action') | list, "
        "'after': %(r)s.after | length, 'failed': %(r)s.failed | default(false)} | to_json }}" % {"r": register}
    )
    return {"name": "write the findings", "ansible.builtin.copy": {"dest": path, "content": found, "mode": "0600"}}


def fleet_set_audit(ansible, endpoint, fleet):
    """One check-mode overridden task over the whole fleet (dry runs on), its process measured."""
    path = os.path.join(ansible.workdir, "fleet-findings.json")
    audit = {
        "name": "audit the fleet",
        SESSIONS: {"state": "overridden", "scope_filters": {"tag:fleet": "bench"}, "config": "{{ fleet }}"},
        "check_mode": True,
        "register": "audit",
    }
    endpoint.clear_requests()
    run = ansible.run([audit, findings_task("audit", path)], {"fleet": fleet["desired"]}, False, True)
    requests = endpoint.requests()
    with open(path) as handle:
        found = json.load(handle)
    module = run["module_runs"][0]
    return {
        "sessions": len(fleet["desired"]),
        "playbook_seconds": run["seconds"],
        "playbook_cpu_seconds": run["cpu_seconds"],
        "module_seconds": module["seconds"],
        "module_cpu_seconds": module["cpu_seconds"],
        "module_max_rss_mib": module["max_rss_kib"] / 1024,
        "tree_max_rss_mib": run["tree_max_rss_kib"] / 1024,
        "found": {
            "missing": sorted(found["missing"]),
            "drifted": sorted(found["drifted"]),
            "extra": sorted(found["extra"]),
        },
        "changes": dict(collections.Counter(found["changes"])),
        "after": found["after"],
        "describe_pages": describe_pages(endpoint),
        **summarize_calls(requests),
    }


def loop_audit_tasks():
    """The audit before the set module (playbooks/audit.yml at 0.1.0): per desired session, a plan without
    writes and a DryRun pass, then one _info read of the audited interfaces."""
    args = {
        "network_interface_id": "{{ item.network_interface_id }}",
        "session_number": "{{ item.session_number }}",
        "traffic_mirror_target_id": "{{ item.traffic_mirror_target_id }}",
        "traffic_mirror_filter_id": "{{ item.traffic_mirror_filter_id }}",
        "packet_length": "{{ item.packet_length }}",
        "tags": "{{ item.tags }}",
    }
    plan = {
        "name": "plan each session",
        SESSION: dict(args, check_mode_dry_run=False),
        "check_mode": True,
        "failed_when": False,
        "loop": "{{ sample }}",
    }
    dry_run = dict(plan, name="dry-run each session", **{SESSION: dict(args, check_mode_dry_run=True)})
    read = {
        "name": "read the audited interfaces",
        SESSION_INFO: {"filters": {"network-interface-id": "{{ sample | map(attribute='network_interface_id') }}"}},
    }
    return [plan, dry_run, read]


def fleet_loop_audit(ansible, endpoint, fleet, sample_size):
    sample = fleet["desired"][:sample_size]
    endpoint.clear_requests()
    run = ansible.run(loop_audit_tasks(), {"sample": sample}, json_output=False)
    return {"sessions": len(sample), "playbook_seconds": run["seconds"], **summarize_calls(endpoint.requests())}


def fleet_playbook_audit(ansible, endpoint, fleet):
    """playbooks/audit.yml (one set-module task, dry runs on, the report written) over the whole fleet."""
    report_dir = os.path.join(ansible.workdir, "fleet-report")
    variables = os.path.join(ansible.workdir, "fleet-audit-vars.json")
    with open(variables, "w") as handle:
        json.dump(
            {
                "desired_sessions": fleet["desired"],
                "aws_region": endpoint.region,
                "aws_endpoint_url": endpoint.endpoint_url,
                "audit_report_dir": report_dir,
            },
            handle,
        )
    endpoint.clear_requests()
    run = ansible.run_playbook(os.path.join(common.ROOT, "playbooks", "audit.yml"), variables)
    with open(os.path.join(report_dir, "mirror-audit.json")) as handle:
        report = json.load(handle)
    return {
        "playbook_seconds": run["seconds"],
        "tree_max_rss_mib": run["tree_max_rss_kib"] / 1024,
        "report_counts": {k: len(report[k]) for k in ("missing", "extra", "drifted", "permission_problems", "errors")},
        **summarize_calls(endpoint.requests()),
    }


def fleet_audit(ansible, endpoint, count, sample_size, startup):
    print("seeding a fleet of %d desired sessions ..." % count, file=sys.stderr, flush=True)
    fleet = build_fleet(endpoint, count)
    print("auditing it with %s ..." % SESSIONS, file=sys.stderr, flush=True)
    set_run = fleet_set_audit(ansible, endpoint, fleet)
    print("auditing it with playbooks/audit.yml ...", file=sys.stderr, flush=True)
    playbook_run = fleet_playbook_audit(ansible, endpoint, fleet)
    print("auditing %d of them with the per-item loop ..." % sample_size, file=sys.stderr, flush=True)
    loop_run = fleet_loop_audit(ansible, endpoint, fleet, sample_size)
    expected = {k: sorted(v) for k, v in fleet["expected"].items()}
    set_per_session = (set_run["playbook_seconds"] - startup["seconds"]) / set_run["sessions"]
    loop_per_session = (loop_run["playbook_seconds"] - startup["seconds"]) / loop_run["sessions"]
    return {
        "count": count,
        "seeded": fleet["seeded"],
        "enis": fleet["enis"],
        "targets": fleet["targets"],
        "seed_seconds": fleet["seed_seconds"],
        "expected_counts": {k: len(v) for k, v in expected.items()},
        "found_exactly": set_run["found"] == expected,
        "set": {k: v for k, v in set_run.items() if k != "found"},
        "found_counts": {k: len(v) for k, v in set_run["found"].items()},
        "loop": loop_run,
        "playbook": playbook_run,
        "seconds_per_session": {"set": set_per_session, "loop": loop_per_session},
        "ratio": loop_per_session / set_per_session if set_per_session > 0 else None,
        "goals": FLEET_GOALS,
    }


# --- report ---------------------------------------------------------------------------------------


def versions():
    import ansible.release
    import ansible_collections.amazon.aws as amazon_aws
    import botocore

    with open(os.path.join(list(amazon_aws.__path__)[0], "MANIFEST.json")) as handle:
        amazon_aws_version = json.load(handle)["collection_info"]["version"]
    return {
        "ansible_core": ansible.release.__version__,
        "amazon_aws": amazon_aws_version,
        "botocore": botocore.__version__,
    }


def short(action):
    return action.replace("TrafficMirror", "")


def module_name(fqcn):
    return fqcn if fqcn.startswith("amazon.") else fqcn.split(".")[-1]


def calls_tables(rows):
    out = []
    for kind in dict.fromkeys(r["module"] for r in rows):
        mine = [r for r in rows if r["module"] == kind]
        actions = list(dict.fromkeys(a for r in mine for a in r["calls"]))
        header = ["operation", "changed"] + [short(a) for a in actions] + ["total", "real writes"]
        table = [
            [r["operation"], "yes" if r["changed"] else "no"]
            + [r["calls"].get(a, "") for a in actions]
            + [r["total"], r["writes"]]
            for r in mine
        ]
        out += ["`%s`" % mine[0]["fqcn"], "", common.markdown_table(header, table), ""]
    return out


def convergence_table(conv):
    rows = []
    for module in CONVERGED:
        for phase, run in conv["runs"][module].items():
            per_item = ", ".join("%s %.2f" % (short(a), n) for a, n in run["calls_per_item"].items())
            rows.append(
                [
                    "`%s`" % module_name(module),
                    phase,
                    "%.1f" % run["seconds"],
                    "%.2f" % run["seconds_per_item"],
                    "%.2f" % run["cpu_seconds_per_item"],
                    "%d / %d" % (run["changed"], run["items"]),
                    "%.2f" % (run["total"] / conv["count"]),
                    per_item,
                ]
            )
    header = ["module", "run", "wall s", "s per item", "CPU s per item", "changed", "calls per item", "by action"]
    return common.markdown_table(header, rows)


def info_table(info):
    rows = []
    for listing in info["boto3"]:
        how = "%d per page" % listing["page_size"] if listing["page_size"] else "no page size"
        rows.append(["boto3 paginator, %s" % how, "%.2f" % listing["seconds"], listing["pages"], "", ""])
    for key, what in (("module", "all %d sessions" % info["count"]), ("module_empty", "a filter matching none")):
        run = info[key]
        rows.append(
            [
                "`ec2_traffic_mirror_session_info`, %s" % what,
                "%.2f (CPU %.2f; playbook %.2f)"
                % (run["module_seconds"], run["module_cpu_seconds"], run["playbook_seconds"]),
                run["pages"],
                "%.0f" % run["module_max_rss_mib"],
                "%.0f" % run["tree_max_rss_mib"],
            ]
        )
    header = ["listing", "seconds", "Describe pages", "module peak RSS MiB", "largest process peak RSS MiB"]
    return common.markdown_table(header, rows)


def row_for(rows, kind, op):
    return next(r for r in rows if r["module"] == kind and r["operation"] == op)


def calls_paragraph(rows):
    noop, sg_noop = row_for(rows, "session", "no-op"), row_for(rows, "amazon.aws sg", "no-op")
    writes = {op: row_for(rows, "session", op)["writes"] for op in ("create", "modify", "tag change", "delete")}
    check = [r for r in rows if r["module"] == "session" and r["check_mode"]]
    return (
        "A session no-op is %d call(s) and %d write(s); amazon.aws's security group needs %d calls for its no-op "
        "(its describes, a DescribeTags and an STS GetCallerIdentity). Real writes per session operation: %s. "
        "The %d check-mode tasks sent %d DryRun write(s) and %d real write(s)."
        % (
            noop["total"],
            noop["writes"],
            sg_noop["total"],
            ", ".join("%s %d" % item for item in writes.items()),
            len(check),
            sum(r["dry_run_writes"] for r in check),
            sum(r["writes"] for r in check),
        )
    )


def convergence_paragraph(result):
    conv, info = result["convergence"], result["info"]
    runs, ratios = conv["runs"], conv["ratio_ours_to_theirs"]
    ms_per_call = 1000 * info["seed_seconds"] / info["count"]
    bare = info["module_empty"]
    cpu = conv["cpu_ratio_ours_to_theirs"]
    text = "Ours / amazon.aws, same loop, same run (below 1 = ours costs less), wall time and CPU per item: %s. " % (
        "; ".join(
            "`%s` creating %.2f and %.2f, unchanged %.2f and %.2f"
            % (module_name(m), r["create"], cpu[m]["create"], r["no change"], cpu[m]["no change"])
            for m, r in ((m, ratios[m]) for m in CONVERGED[1:])
        )
    )
    text += (
        "CPU per item is the steadier figure: other work on the shared machine stretches wall time (unchanged runs "
        "were made %d times, the fastest kept). Per item, what costs is the same for every module: a new Python "
        "process per loop item that imports botocore and builds a client. A module process that makes one call "
        "and returns nothing takes %.2f s (%.2f s CPU; the `_info` run with a filter matching none, below), and a "
        "call to the endpoint about %.0f ms (the boto3 seeding rate below), so the calls a module saves barely "
        "show in wall time. "
        % (
            len(runs[SESSION]["no change"]["repeat_seconds"]),
            bare["module_seconds"],
            bare["module_cpu_seconds"],
            ms_per_call,
        )
    )
    group_create = runs[SECURITY_GROUP]["create"]["seconds_per_item"]
    text += (
        "`amazon.aws.ec2_security_group` %s sleeps 3 s after each create (`create_ec2_security_group`, waiting for "
        "AWS's default egress rule), hence its %.1f s per created item; `amazon.aws.ec2_key` is the fairer "
        "comparison for creates. Parallel forks would not help either module: one host runs its loop in order."
        % (result["versions"]["amazon_aws"], group_create)
    )
    return text


def info_paragraph(info):
    module, empty = info["module"], info["module_empty"]
    one_page, paged = info["boto3"]
    slices = info["seed_slice_seconds"]
    growth = slices[-1] / slices[0] if slices and slices[0] else 1.0
    text = (
        "`ec2_traffic_mirror_session_info` read %d sessions in %d Describe page(s) and %.2f s (boto3 alone: %.2f s). "
        "It reads every page with botocore's paginator and sends no MaxResults; the endpoint then answers all "
        "sessions at once (AWS documents no default page size for this call; if it pages, the paginator follows "
        "NextToken). With MaxResults 1000 the same listing takes %d pages and %.2f s. The module process peaked "
        "at %.0f MiB (%.0f MiB when it returns nothing: Python, botocore and its EC2 service model); the largest "
        "process of the whole playbook, controller included (it receives and templates the result), at %.0f MiB. "
        "Of the module's %.2f s, %.2f s is its own CPU; the rest is waiting for the endpoint to build and send "
        "the answer. "
        % (
            info["count"],
            module["pages"],
            module["module_seconds"],
            one_page["seconds"],
            paged["pages"],
            paged["seconds"],
            module["module_max_rss_mib"],
            empty["module_max_rss_mib"],
            module["tree_max_rss_mib"],
            module["module_seconds"],
            module["module_cpu_seconds"],
        )
    )
    text += "In the last tenth of the seeding a create took %.2fx as long as in the first" % growth
    if growth > 1.2:
        text += (
            ": on each create the endpoint scans every session of the account (tools/offline_ec2/sessions.py: the "
            "per-ENI quota and session numbers, the target's sources, a free VNI), work that grows linearly with "
            "the sessions but stays small beside the HTTP round trip at this size"
        )
    return text + "."


def fleet_markdown(fleet):
    sets, loop, goals = fleet["set"], fleet["loop"], fleet["goals"]
    expected = fleet["expected_counts"]
    rows = [
        [
            "`ec2_traffic_mirror_sessions`, one check-mode task (overridden)",
            fleet["count"],
            "%.1f" % sets["playbook_seconds"],
            "%.1f" % sets["module_seconds"],
            "%.4f" % fleet["seconds_per_session"]["set"],
            "%.0f / %.0f" % (sets["module_max_rss_mib"], sets["tree_max_rss_mib"]),
            sets["describe_pages"],
            "%d (%d DryRun)" % (sets["writes"], sets["dry_run_writes"]),
        ],
        [
            "`playbooks/audit.yml` (one set-module task, `merged`, reports written)",
            fleet["count"],
            "%.1f" % fleet["playbook"]["playbook_seconds"],
            "",
            "",
            "- / %.0f" % fleet["playbook"]["tree_max_rss_mib"],
            fleet["playbook"]["calls"].get("DescribeTrafficMirrorSessions", 0),
            "%d (%d DryRun)" % (fleet["playbook"]["writes"], fleet["playbook"]["dry_run_writes"]),
        ],
        [
            "`ec2_traffic_mirror_session` in a loop (plan, dry run, `_info`)",
            loop["sessions"],
            "%.1f" % loop["playbook_seconds"],
            "",
            "%.3f" % fleet["seconds_per_session"]["loop"],
            "",
            loop["calls"].get("DescribeTrafficMirrorSessions", 0),
            "%d (%d DryRun)" % (loop["writes"], loop["dry_run_writes"]),
        ],
    ]
    header = [
        "audit",
        "sessions",
        "playbook s",
        "module s",
        "s per session",
        "peak RSS MiB (module / largest process)",
        "Describe calls",
        "real writes",
    ]
    ratio = fleet["ratio"] or 0.0
    verdict = [
        "%s %s (goal %s)" % (what, "met" if ok else "MISSED", goal)
        for what, ok, goal in (
            ("wall time", sets["playbook_seconds"] <= goals["seconds"], "%.0f s" % goals["seconds"]),
            ("memory", sets["tree_max_rss_mib"] <= goals["max_rss_mib"], "%.0f MiB" % goals["max_rss_mib"]),
            ("per-session ratio", ratio >= goals["ratio"], "%.0fx" % goals["ratio"]),
        )
    ]
    reported = fleet["playbook"]["report_counts"]
    return [
        "### A fleet audit at the account quota (%d sessions)" % fleet["count"],
        "",
        "Taken %s. The endpoint's backend was seeded (POST /_offline_ec2/seed, %.1f s) with %d sessions on %d source "
        "ENIs (3 each) to %d ENI targets (10 sources each); of the %d desired sessions %d are missing and %d drifted "
        "(packet length 64, not 128), and %d sessions in scope are extra. The audit is one check-mode task, "
        "`state: overridden`, `scope_filters: {tag:fleet: bench}`, dry runs on; the loop is the audit before the "
        "set module, on the first %d desired sessions of the same account. Per-session seconds subtract "
        "ansible-playbook's start-up."
        % (
            fleet["taken"],
            fleet["seed_seconds"],
            fleet["seeded"],
            fleet["enis"],
            fleet["targets"],
            fleet["count"],
            expected["missing"],
            expected["drifted"],
            expected["extra"],
            loop["sessions"],
        ),
        "",
        common.markdown_table(header, rows),
        "",
        "The set audit found exactly the seeded missing, drifted and extra sessions: %s (found %s); it planned %s "
        "and sent each as a DryRun call, with %d real writes. Per session it cost %.0fx less than the loop. %s. "
        "`playbooks/audit.yml` on the same account reported %s (extra sessions: those on the audited interfaces)."
        % (
            "yes" if fleet["found_exactly"] else "NO",
            ", ".join("%d %s" % (n, k) for k, n in sorted(fleet["found_counts"].items())),
            ", ".join("%d %s" % (n, k) for k, n in sorted(sets["changes"].items())),
            sets["writes"],
            ratio,
            "; ".join(verdict)[:1].upper() + "; ".join(verdict)[1:],
            ", ".join("%d %s" % (reported[k], k.replace("_", " ")) for k in sorted(reported)),
        ),
    ]


def render_markdown(result):
    if not all(key in result for key in ("calls", "convergence", "info")):
        out = ["## Modules: API calls, convergence time, _info at scale", "", common.machine_line(result), ""]
        return "\n".join(out + (fleet_markdown(result["fleet"]) if "fleet" in result else [])) + "\n"
    conv, info = result["convergence"], result["info"]
    names = " and ".join("`%s`" % module_name(m) for m in CONVERGED[1:])
    taken = common.machine_line(dict(result, machine=result.get("kept_machine", result["machine"])))
    out = ["## Modules: API calls, convergence time, _info at scale", "", taken, ""]
    out += [
        "Every figure comes from `ansible-playbook` (ansible-core %s, amazon.aws %s) running the real modules "
        "against the offline EC2 endpoint; API calls are counted from the endpoint's request log. Load average "
        "when the run started and ended: %.1f, %.1f (a shared machine: wall times are indicative). Action names "
        "drop `TrafficMirror` (`CreateSession` is `CreateTrafficMirrorSession`); *(DryRun)* marks a check-mode "
        "write sent with `DryRun=true`."
        % (
            result["versions"]["ansible_core"],
            result["versions"]["amazon_aws"],
            result["load_average"]["start"],
            result["load_average"]["end"],
        ),
        "",
        "### API calls per operation",
        "",
        "![API calls per operation](performance/modules_bench_calls.png)",
        "",
    ]
    out += calls_tables(result["calls"])
    out += [calls_paragraph(result["calls"]), ""]
    out += [
        "### Converging %d sessions, beside amazon.aws" % conv["count"],
        "",
        "One task looping over %d items, run first creating, then unchanged: `ec2_traffic_mirror_session` "
        "(%d source ENIs, 3 sessions each, one NLB target, two tags) beside %s (%d tagged resources each). "
        "*Per item* figures subtract ansible-playbook's own start-up (%.2f s, %.2f s CPU); CPU is that of every "
        "process of the playbook (controller, workers, modules), not the endpoint's, so it shows the modules' own "
        "cost even when other work loads the machine."
        % (
            conv["count"],
            math.ceil(conv["count"] / SESSIONS_PER_ENI),
            names,
            conv["count"],
            result["startup"]["seconds"],
            result["startup"]["cpu_seconds"],
        ),
        "",
        "![convergence wall and CPU time](performance/modules_bench_convergence.png)",
        "",
        convergence_table(conv),
        "",
        convergence_paragraph(result),
        "",
        "### `ec2_traffic_mirror_session_info` over %d sessions" % info["count"],
        "",
        "%d sessions on %d ENIs, seeded with boto3 in %.1f s (%.0f creates/s). *Module* seconds and peak RSS are "
        "the module process alone (a wrapping interpreter times it and reads its rusage); the playbook figure "
        "adds Ansible's start-up and the result's trip to the controller."
        % (info["count"], info["enis"], info["seed_seconds"], info["count"] / max(info["seed_seconds"], 1e-9)),
        "",
        "![_info listing time](performance/modules_bench_info.png)",
        "",
        info_table(info),
        "",
        info_paragraph(info),
    ]
    if "fleet" in result:
        out += [""] + fleet_markdown(result["fleet"])
    return "\n".join(out) + "\n"


def convergence_chart(path, conv):
    """Two panels over the same runs: wall seconds of the playbook, and CPU seconds per item."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = ["create", "no change"]
    modules = CONVERGED
    panels = [("wall seconds, whole playbook", "seconds"), ("CPU seconds per item", "cpu_seconds_per_item")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110)
    width = 0.8 / len(modules)
    for ax, (title, measure) in zip(axes, panels):
        for index, module in enumerate(modules):
            xs = [i - 0.4 + width * (index + 0.5) for i in range(len(phases))]
            values = [conv["runs"][module][phase][measure] for phase in phases]
            bars = ax.bar(xs, values, width, label=module_name(module))
            ax.bar_label(bars, fmt="%.2f" if measure != "seconds" else "%.0f", fontsize=7)
        ax.set_xticks(range(len(phases)))
        ax.set_xticklabels(phases)
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(modules), fontsize=8)
    fig.suptitle("One playbook looping over %d items" % conv["count"], fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def plots(result, out_dir):
    rows, conv, info = result["calls"], result["convergence"], result["info"]
    core = [r for r in rows if r["module"] in ("session", "amazon.aws sg") and r["operation"] in CORE_OPS]
    common.bar_chart(
        os.path.join(out_dir, "modules_bench_calls.png"),
        "API calls per operation: ec2_traffic_mirror_session vs amazon.aws.ec2_security_group",
        ["%s %s" % ("session" if r["module"] == "session" else "sg", r["operation"]) for r in core],
        {"reads": [r["reads"] for r in core], "writes": [r["writes"] for r in core]},
        "API calls",
    )
    convergence_chart(os.path.join(out_dir, "modules_bench_convergence.png"), conv)
    labels = ["boto3, " + ("%d per page" % b["page_size"] if b["page_size"] else "one page") for b in info["boto3"]]
    common.bar_chart(
        os.path.join(out_dir, "modules_bench_info.png"),
        "Listing %d sessions" % info["count"],
        labels + ["session_info module", "session_info playbook"],
        {
            "seconds": [b["seconds"] for b in info["boto3"]]
            + [info["module"]["module_seconds"], info["module"]["playbook_seconds"]]
        },
        "seconds",
    )


def timed(seconds, section, function, *args):
    print("%s ..." % section, file=sys.stderr, flush=True)
    start = time.monotonic()
    value = function(*args)
    seconds[section] = time.monotonic() - start
    return value


def main(argv=None):
    args = common.parser(__doc__.splitlines()[0])
    args.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="run only these; the others' figures are kept from OUT/modules_bench.json",
    )
    opts = args.parse_args(argv)
    sizes = SIZES[opts.quick]
    link_collection()
    os.makedirs(opts.out, exist_ok=True)
    result = kept_sections(opts.out, opts.sections, opts.quick)
    fresh = not result  # a partial run keeps the start-up, load and versions the kept figures were taken with
    load = {"start": os.getloadavg()[0]}
    if fresh:
        result.update(versions=versions(), load_average=load)
    sections = result.setdefault("section_seconds", {})
    with tempfile.TemporaryDirectory(prefix="modules-bench-") as workdir, OfflineEC2() as endpoint:
        ansible = Ansible(endpoint, workdir)
        startup = timed(sections, "startup", startup_cost, ansible, sizes["startups"])
        if fresh:
            result["startup"] = startup
        if "calls" in opts.sections:
            result["calls"] = timed(sections, "calls", calls_per_operation, ansible, endpoint)
        if "convergence" in opts.sections:
            args = (ansible, endpoint, sizes["convergence"], startup, sizes["no_change_repeats"])
            result["convergence"] = timed(sections, "convergence", convergence, *args)
        if "info" in opts.sections:
            result["info"] = timed(sections, "info", info_at_scale, ansible, endpoint, sizes["info"])
        if "fleet" in opts.sections:
            args = (ansible, endpoint, sizes["fleet"], sizes["sample"], startup)
            fleet = result["fleet"] = timed(sections, "fleet", fleet_audit, *args)
            fleet.update(taken=common.machine()["taken"], startup=startup, load_average=load)
    load["end"] = os.getloadavg()[0]
    if all(key in result for key in ("calls", "convergence", "info")):
        plots(result, opts.out)
    # the digest of the code measured: only when every section is of this code
    digest = common.module_source_digest()
    if set(opts.sections) == set(SECTIONS) or result.get("module_source_digest") == digest:
        result["module_source_digest"] = digest
    else:
        result.pop("module_source_digest", None)
    common.publish(opts.out, NAME, result, opts.quick, render_markdown)
    return result


def kept_sections(out_dir, sections, quick):
    """The figures of the sections not run now, from the last full (not quick) result in out_dir."""
    path = os.path.join(out_dir, NAME + ".json")
    if set(sections) == set(SECTIONS) or quick or not os.path.exists(path):
        return {}
    previous = common.read_result(out_dir, NAME)
    kept = {key: previous[key] for key in SECTIONS if key not in sections and key in previous}
    kept.update({key: previous[key] for key in ("versions", "load_average", "startup") if key in previous})
    kept["section_seconds"] = {k: v for k, v in previous.get("section_seconds", {}).items() if k not in sections}
    kept["kept_machine"] = previous.get("kept_machine", previous["machine"])  # when the kept figures were taken
    return kept


if __name__ == "__main__":
    main()
