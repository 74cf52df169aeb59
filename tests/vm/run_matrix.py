"""The kernel matrix: the agent's kernel tests inside a qemu VM per Debian release.

    python3 tests/vm/run_matrix.py [--distros debian-11,debian-12,debian-13] [--examples N]

For each release: build (or reuse) its image, boot it, copy this checkout and the guest's test
libraries in, and run the kernel tests of tests/agent (those marked netns; the pure ones run on the
host) inside it: network namespaces inside the guest, the guest's own kernel, iproute2 and nftables.
Then the role scenario (molecule `kernels`) on freshly booted VMs. Writes build/kernel-matrix.json and
prints the same as a table; exits non-zero when any kernel has a failed test or a role that did not
converge. Each step's time is in the JSON and in the last lines printed.
"""

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))  # netns_lab, for the agent's path
import kernel_support  # noqa: E402
import vmlab  # noqa: E402

import netns_lab  # noqa: E402
from helpers.molecule import link_collection  # noqa: E402
from helpers.molecule import run_scenario  # noqa: E402

REPO = vmlab.REPO
MATRIX = REPO / "build" / "kernel-matrix.json"
ROLE_LOG = REPO / "build" / "kernel-matrix-role.log"
WHEELS = vmlab.CACHE / "wheels"
GUEST_REQUIREMENTS = Path(__file__).resolve().parent / "guest-requirements.txt"
GUEST_PYLIB = "/opt/netmirror-test-pylib"
GUEST_REPO = "/root/netmirror"
AGENT_IN_REPO = Path(netns_lab.AGENT_PATH).relative_to(netns_lab.ROOT).as_posix()  # the agent package's parent
TEST_TIMEOUT_S = 2400
# Not kernel tests: the burst test needs a sender 10x faster than the agent's poll can see, which a TCG guest
# cannot make ("the sender could not make a burst"); it runs on the host under make test.
GUEST_DESELECT = ("tests/agent/test_agent_survival.py::test_a_10x_burst_makes_no_loop_and_costs_the_agent_no_cpu",)


def guest_pylib_tar():
    """pytest and hypothesis as pure-Python wheels (downloaded once from PyPI), unpacked into one tarball."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(WHEELS)]
        + ["-r", str(GUEST_REQUIREMENTS)],
        check=True,
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for wheel in sorted(WHEELS.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.infolist():
                    if member.is_dir():
                        continue
                    info = tarfile.TarInfo(member.filename)
                    data = archive.read(member)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def checkout_tar():
    """The tracked files of this checkout (what a clone has), as a tarball."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    return subprocess.run(
        ["tar", "--null", "-cf", "-", "-T", "-"], cwd=REPO, input=files, check=True, capture_output=True
    ).stdout


def copy_in(labdir, address, payload, destination):
    command = vmlab.ssh_command(labdir, address) + [
        "rm -rf {0} && mkdir -p {0} && tar -xf - -C {0}".format(destination)
    ]
    subprocess.run(command, input=payload, check=True, capture_output=True, timeout=300)


def junit_counts(xml_text):
    root = ET.fromstring(xml_text)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    by_datapath = {}
    failures = []
    for case in root.iter("testcase"):
        datapath = kernel_support.datapath_of(case.get("name") or "")
        own = by_datapath.setdefault(datapath, {"passed": 0, "failed": 0, "skipped": 0}) if datapath else {}
        if case.find("failure") is not None or case.find("error") is not None:
            own["failed"] = own.get("failed", 0) + 1
            counts["failed"] += 1
            node = case.find("failure") if case.find("failure") is not None else case.find("error")
            failures.append("{0}: {1}".format(case.get("name"), (node.get("message") or "").splitlines()[:1]))
        elif case.find("skipped") is not None:
            own["skipped"] = own.get("skipped", 0) + 1
            counts["skipped"] += 1
        else:
            own["passed"] = own.get("passed", 0) + 1
            counts["passed"] += 1
    counts["by_datapath"] = by_datapath
    return counts, failures


def run_guest_tests(labdir, distro, examples, result):
    address = vmlab.GUEST_ADDRESSES[distro]
    started = time.monotonic()
    command = (
        "cd {repo} && PYTHONPATH={pylib} TMA_EQUIVALENCE_EXAMPLES={examples} TMA_DATAPATHS={datapaths} "
        "python3 -m pytest tests/agent -m netns -p no:cacheprovider -q -o junit_family=legacy "
        "--junitxml=/tmp/junit.xml {deselect} > /tmp/pytest.log 2>&1; cat /tmp/junit.xml"
    ).format(
        repo=GUEST_REPO,
        pylib=GUEST_PYLIB,
        examples=examples,
        datapaths=",".join(result["datapaths_tested"]),
        deselect=" ".join("--deselect " + test for test in GUEST_DESELECT),
    )
    try:
        completed = vmlab.ssh(labdir, address, command, timeout=TEST_TIMEOUT_S)
        counts, failures = junit_counts(completed.stdout)
    except (subprocess.TimeoutExpired, ET.ParseError) as error:
        counts, failures = {"passed": 0, "failed": 1, "skipped": 0}, ["the test run did not finish: {0}".format(error)]
    log = vmlab.ssh(labdir, address, "cat /tmp/pytest.log", timeout=60).stdout
    (labdir / (distro + ".pytest.log")).write_text(log)
    result.update(counts)
    result["failures"] = failures
    result["tests_s"] = round(time.monotonic() - started, 1)
    result["pytest_log"] = str(labdir / (distro + ".pytest.log"))


def guest_facts(labdir, distro):
    address = vmlab.GUEST_ADDRESSES[distro]
    probe = (
        "cd {repo}/{agent} && python3 -c "
        "'import json; from traffic_mirror_agent import probe; "
        'print(json.dumps([probe.missing_features(), probe.missing_features("nftables")]))\''
    ).format(repo=GUEST_REPO, agent=AGENT_IN_REPO)
    auto = (
        "cd {repo}/{agent} && python3 -c "
        '\'from traffic_mirror_agent import datapath; print("nftables" if datapath.ebpf_problem() else "ebpf")\''
    ).format(repo=GUEST_REPO, agent=AGENT_IN_REPO)
    kernel = vmlab.ssh(labdir, address, "uname -r").stdout.strip()
    missing, nftables_missing = json.loads(vmlab.ssh(labdir, address, probe).stdout.strip() or "[null, null]")
    tools = vmlab.ssh(labdir, address, "ip -V; nft --version; python3 --version").stdout.strip().splitlines()
    chosen = vmlab.ssh(labdir, address, auto).stdout.strip()
    return kernel, {"auto": missing, "nftables": nftables_missing}, tools, chosen


def run_role(distros):
    """The molecule scenario `kernels`: the role over SSH to the VMs, idempotence, traffic, reboot.

    Returns {distro: "converged" | "failed" | "not run: ..."} from molecule's outcome and its recaps."""
    if sorted(distros) != sorted(vmlab.RELEASES):
        return {d: "not run: the role scenario boots all of {0}".format(", ".join(vmlab.RELEASES)) for d in distros}
    returncode, output = run_scenario("kernels", link_collection(), timeout=3600)
    ROLE_LOG.parent.mkdir(parents=True, exist_ok=True)
    ROLE_LOG.write_text(output)
    if returncode == 0:
        return {d: "converged" for d in distros}
    failed = {d for d in distros if re.search(r"^{0}\s+:.*failed=[1-9]".format(re.escape(d)), output, re.M)}
    failed |= {d for d in distros if re.search(r"^{0}\s+:.*unreachable=[1-9]".format(re.escape(d)), output, re.M)}
    stopped = "failed: molecule stopped (see {0})".format(ROLE_LOG)
    return {d: "failed" if d in failed else stopped for d in distros}


def print_table(rows):
    header = ("distro", "kernel", "datapath", "passed", "failed", "skipped", "role", "tests s")
    lines = [header] + [
        (r["distro"], r["kernel"], r["datapath"], r["passed"], r["failed"], r["skipped"], r["role"], r["tests_s"])
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)))


def step_times(rows, total_s):
    """One line with each step's wall time: the images build side by side and the guests test side by side,
    so a step takes as long as its slowest VM."""
    slowest = {step: max(row.get(step, 0) for row in rows) for step in ("build_s", "boot_s", "tests_s", "role_s")}
    line = "steps: build {build_s:.0f} s, boot {boot_s:.0f} s, tests in the guests {tests_s:.0f} s, role {role_s:.0f} s"
    return line.format(**slowest) + "; {0:.0f} s in all".format(total_s)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distros", default=",".join(vmlab.RELEASES))
    parser.add_argument("--examples", type=int, default=10, help="hypothesis examples in the guests (TCG is slow)")
    parser.add_argument("--labdir", default=str(REPO / "build" / "vm" / "lab"))
    parser.add_argument(
        "--tests-only", action="store_true", help="the guests' kernel tests without the role scenario (not a pass)"
    )
    args = parser.parse_args(argv)
    distros = args.distros.split(",")
    labdir = Path(args.labdir)
    vmlab.down(labdir)
    started = time.monotonic()
    try:
        vmlab.up(labdir, distros, log=print)
        timings = json.loads((labdir / "timings.json").read_text())
        pylib, checkout = guest_pylib_tar(), checkout_tar()
        rows, threads = [], []
        for distro in distros:
            address = vmlab.GUEST_ADDRESSES[distro]
            copy_in(labdir, address, pylib, GUEST_PYLIB)
            copy_in(labdir, address, checkout, GUEST_REPO)
            kernel, missing, tools, datapath = guest_facts(labdir, distro)
            row = {
                "kernel": kernel,
                "distro": distro,
                # what `datapath: auto` chooses on this kernel; the probe says what the agent lacks there
                "datapath": datapath,
                "missing_features": missing,
                # the data paths the guest's tests run for: nftables only where its kernel can mirror
                # both directions with it (else its refusal is what the tests check)
                "datapaths_tested": ["ebpf"] + ([] if missing["nftables"] else ["nftables"]),
                "tools": tools,
                "role": "not run",
                "accelerator": (labdir / "accelerator").read_text(),
                **timings[distro],
            }
            rows.append(row)
            thread = threading.Thread(target=run_guest_tests, args=(labdir, distro, args.examples, row))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    finally:
        vmlab.down(labdir)
    role_started = time.monotonic()
    if args.tests_only:
        outcomes = {d: "not run: --tests-only" for d in distros}
    else:
        outcomes = run_role(distros)
    for row in rows:
        row["role"] = outcomes[row["distro"]]
        row["role_s"] = round(time.monotonic() - role_started, 1)
    for row in rows:
        row["matrix_s"] = round(time.monotonic() - started, 1)
    MATRIX.parent.mkdir(parents=True, exist_ok=True)
    MATRIX.write_text(json.dumps(rows, indent=2) + "\n")
    print_table(rows)
    for row in rows:
        for failure in row["failures"]:
            print("{0}: FAILED {1}".format(row["distro"], failure))
    print(step_times(rows, time.monotonic() - started))
    print("matrix in {0} ({1:.0f} s in all)".format(MATRIX, time.monotonic() - started))
    return 1 if any(row["failed"] or row["role"] != "converged" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
