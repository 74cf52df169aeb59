"""What `make test` needs from the host beyond .venv: root and the Debian packages in
.ci/apt-packages.txt (the one list; `.ci/run` installs nothing of its own).

As a script (`make test` runs it first, with the system python3):
- everything present: prints nothing, exits 0;
- packages missing, root on a Debian-family machine: installs them with apt-get;
- otherwise: names what is missing and the exact command that installs it, exits 2,
  before a single test runs.

As a module (tests/conftest.py): `missing(...)` and `install_hint(...)` for tests that need a
tool, so that a missing one is a failure naming it, never a skip.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# NETMIRROR_APT_PACKAGES: another list, for testing this script.
PACKAGE_LIST = Path(os.environ.get("NETMIRROR_APT_PACKAGES", REPO / ".ci" / "apt-packages.txt"))
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def host_packages():
    """The Debian packages of .ci/apt-packages.txt, in file order (comments and blanks dropped)."""
    packages = []
    for line in PACKAGE_LIST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        packages.extend(line.split())
    return packages


def missing_packages(packages=None):
    """The packages not installed (dpkg's view); all of them where dpkg-query does not exist."""
    packages = host_packages() if packages is None else list(packages)
    if shutil.which("dpkg-query") is None:
        return packages
    missing = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True, check=False
        )
        if status.stdout.strip() != "installed":
            missing.append(package)
    return missing


def install_command(packages):
    return "apt-get update && apt-get install -y --no-install-recommends " + " ".join(packages)


def is_root():
    return os.geteuid() == 0


def _debian_family():
    return shutil.which("apt-get") is not None and shutil.which("dpkg-query") is not None


def ensure():
    """Exit status for `make test`'s first step (see the module docstring)."""
    problems = []
    if not is_root():
        problems.append(
            "make test needs root: the agent's tests make network namespaces, the roles' tests boot "
            "systemd-nspawn hosts. Run it as root (sudo make test), or run `make test-quick` for the "
            "tests that need neither root nor Debian packages."
        )
    missing = missing_packages()
    if missing and is_root() and _debian_family():
        print("make test: installing the Debian packages it needs: " + " ".join(missing), flush=True)
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing
        for command in (["apt-get", "update", "-qq"], install):
            if subprocess.run(command, env=APT_ENV, check=False).returncode != 0:
                problems.append("`%s` failed (see its output above)" % " ".join(command))
                break
        missing = missing_packages(missing)
    if missing:
        where = "" if _debian_family() else " (this is not a Debian-family machine: install their equivalents)"
        problems.append(
            "missing Debian packages%s: %s\n  install them with: %s"
            % (where, " ".join(missing), install_command(missing))
        )
    for problem in problems:
        print("make test cannot run: " + problem, file=sys.stderr)
    return 2 if problems else 0


# Tools the tests call, and the Debian package (in .ci/apt-packages.txt) that brings each.
TOOL_PACKAGES = {
    "ip": "iproute2",
    "tc": "iproute2",
    "nft": "nftables",
    "ethtool": "ethtool",
    "iperf3": "iperf3",
    "daemonlogger": "daemonlogger",
    "netsniff-ng": "netsniff-ng",
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "systemd-analyze": "systemd",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "shellcheck": "shellcheck",
    "git": "git",
    "/usr/bin/time": "time",
}


def missing_tools(tools, root=False):
    """What of `tools` (and root, if asked) this host lacks, each with how to get it; [] when none."""
    missing = []
    if root and not is_root():
        missing.append("root (run the tests as root)")
    for tool in tools:
        present = os.access(tool, os.X_OK) if tool.startswith("/") else shutil.which(tool) is not None
        if not present:
            package = TOOL_PACKAGES.get(tool, tool)
            missing.append("%s (Debian package %s: %s)" % (tool, package, install_command([package])))
    return missing


if __name__ == "__main__":
    sys.exit(ensure())
