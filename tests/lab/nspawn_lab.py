"""Real Debian hosts with systemd as PID 1, one per network namespace, reached over SSH.

    python3 tests/lab/nspawn_lab.py up LABDIR source collector   # boots them, prints an inventory (JSON)
    python3 tests/lab/nspawn_lab.py reboot LABDIR source          # waits until it is back
    python3 tests/lab/nspawn_lab.py down LABDIR                   # removes hosts, namespaces, links

Topology: a bridge nmlab0 (198.18.60.1/24) in the root namespace; each host in its own namespace
nmlab-NAME, its eth0 a veth into the bridge; plus a plain namespace nmlab-peer (no systemd) that
sends test traffic. Addresses come from 198.18.0.0/15 only. The root filesystem is built once with
debootstrap (with every package the roles need: the hosts reach no package registry) and copied
per host. Each host runs under a small supervisor that boots it again when it reboots.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers (also when run as a script)
from helpers.lab_process import lab_command  # noqa: E402
from helpers.lab_process import stop_supervised  # noqa: E402
from helpers.lab_process import wait_for_new_boot  # noqa: E402

BRIDGE = "nmlab0"
BRIDGE_ADDRESS = "198.18.60.1/24"
HOST_ADDRESSES = {"source": "198.18.60.11", "collector": "198.18.60.12", "peer": "198.18.60.13"}
ROOTFS_CACHE = Path(os.environ.get("NETMIRROR_LAB_ROOTFS", "/var/tmp/netmirror-lab-rootfs"))
# python3-apt: Ansible's apt module needs it on the host.
PACKAGES = "systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,openssh-server,nftables,procps"
NSPAWN_REBOOT_EXIT = 133


def sh(*args, check=True, **kwargs):
    return subprocess.run(list(args), check=check, text=True, capture_output=True, **kwargs)


def build_rootfs():
    """Debian bookworm with systemd, sshd, python3 and what the roles install, once per machine."""
    if (ROOTFS_CACHE / "usr" / "sbin" / "sshd").exists():
        return
    staging = ROOTFS_CACHE.with_suffix(".partial")
    shutil.rmtree(staging, ignore_errors=True)
    sh("debootstrap", "--variant=minbase", "--include=" + PACKAGES, "bookworm", str(staging))
    staging.rename(ROOTFS_CACHE)


def prepare_host(labdir, name, address, public_key):
    root = labdir / "hosts" / name
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    sh("cp", "-a", "--reflink=auto", str(ROOTFS_CACHE), str(root))
    (root / "etc" / "hostname").write_text(name + "\n")
    network = root / "etc" / "systemd" / "network" / "10-eth0.network"
    network.parent.mkdir(parents=True, exist_ok=True)
    network.write_text("[Match]\nName=eth0\n\n[Network]\nAddress={0}/24\nLinkLocalAddressing=no\n".format(address))
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(public_key)
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    sh("systemctl", "--root", str(root), "enable", "systemd-networkd", "ssh")
    return root


def add_namespace(name, address=None):
    netns = "nmlab-" + name
    veth = "nml-" + name
    sh("ip", "netns", "add", netns)
    sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
    sh("ip", "link", "set", veth, "master", BRIDGE, "up")
    sh("ip", "-n", netns, "link", "set", "lo", "up")
    if address:  # a plain namespace; the systemd hosts configure eth0 with systemd-networkd
        sh("ip", "-n", netns, "addr", "add", address + "/24", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
    return netns


def boot(labdir, name, root, netns):
    """Start the host under a supervisor that boots it again after a reboot (nspawn exits 133)."""
    log = labdir / (name + ".console.log")
    command = (
        "while true; do systemd-nspawn -D {root} --keep-unit --register=no --network-namespace-path=/run/netns/{netns} "
        "--capability=CAP_NET_ADMIN,CAP_BPF,CAP_PERFMON,CAP_SYS_ADMIN --system-call-filter=bpf -b >>{log} 2>&1; "
        "[ $? -eq {reboot} ] || break; done"
    ).format(root=root, netns=netns, log=log, reboot=NSPAWN_REBOOT_EXIT)
    process = subprocess.Popen(["sh", "-c", command], start_new_session=True, stdin=subprocess.DEVNULL)
    (labdir / (name + ".pid")).write_text(str(process.pid))


def ssh(labdir, address, command, timeout=10):
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(labdir / "id_ed25519"),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=3",
            "-o",
            "LogLevel=ERROR",
            "root@" + address,
            command,
        ],
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def wait_for_ssh(labdir, address, deadline=90):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if ssh(labdir, address, "systemctl is-system-running --wait").stdout.strip() in ("running", "degraded"):
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(1)
    raise SystemExit("host {0} did not come up over SSH within {1} s".format(address, deadline))


def up(labdir, names):
    labdir.mkdir(parents=True, exist_ok=True)
    build_rootfs()
    key = labdir / "id_ed25519"
    if not key.exists():
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    public_key = (labdir / "id_ed25519.pub").read_text()
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    add_namespace("peer", HOST_ADDRESSES["peer"])
    for name in names:
        root = prepare_host(labdir, name, HOST_ADDRESSES[name], public_key)
        boot(labdir, name, root, add_namespace(name))
    for name in names:
        wait_for_ssh(labdir, HOST_ADDRESSES[name])
    inventory = {
        name: {"address": HOST_ADDRESSES[name], "identity_file": str(key), "user": "root", "port": 22, "instance": name}
        for name in names
    }
    print(json.dumps(inventory))


def reboot(labdir, name):
    address = HOST_ADDRESSES[name]
    booted = boot_id(labdir, address)
    ssh(labdir, address, "systemctl reboot")
    if wait_for_new_boot(lambda: boot_id(labdir, address), booted, deadline=120, poll=2) is None:
        raise SystemExit("host {0} did not come back from a reboot within 120 s".format(name))
    wait_for_ssh(labdir, address)


def boot_id(labdir, address):
    return ssh(labdir, address, "cat /proc/sys/kernel/random/boot_id").stdout.strip()


def down(labdir):
    stop_supervised(labdir, grace_seconds=15)  # nspawn shuts the container down on SIGTERM
    for name in list(HOST_ADDRESSES):
        sh("ip", "netns", "del", "nmlab-" + name, check=False)
        sh("ip", "link", "del", "nml-" + name, check=False)
    sh("ip", "link", "del", BRIDGE, check=False)
    shutil.rmtree(labdir / "hosts", ignore_errors=True)


def main(argv):
    lab_command(argv, "nspawn_lab.py", up, reboot, down)


if __name__ == "__main__":
    main(sys.argv)
