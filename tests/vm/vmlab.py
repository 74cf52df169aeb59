"""Debian virtual machines on their own kernels, booted with qemu and reached over SSH.

    python3 tests/vm/vmlab.py up LABDIR debian-11 [debian-12 ...]   # builds (cached), boots, prints an inventory
    python3 tests/vm/vmlab.py reboot LABDIR debian-11                # waits until it is back (new boot id)
    python3 tests/vm/vmlab.py down LABDIR                             # stops the VMs, removes taps and namespaces

Each release's image is made from Debian's archive only: debootstrap, then the release's
linux-image-amd64 inside it; the kernel and initrd are copied out and booted with -kernel/-initrd
on a virtio disk. Images are cached under build/vm/<distro>/ and rebuilt when their inputs (the
release, the package list, the functions that make it) change.

Network: a bridge nmvm0 (198.18.70.1/24) in the root namespace; each VM's virtio NIC is a tap on
it (198.18.70.1x), so SSH and test traffic stay on 198.18.0.0/15. A plain namespace nmvm-peer
(198.18.70.3) sends test traffic; nmvm-collector (198.18.70.2) receives the copies. qemu runs with
KVM when a short probe boot shows that KVM works here, with TCG otherwise (on these machines KVM
guests hang after the kernel is decompressed).
"""

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers (also when run as a script)
from helpers.lab_process import lab_command  # noqa: E402
from helpers.lab_process import stop_supervised  # noqa: E402
from helpers.lab_process import wait_for_new_boot  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("NETMIRROR_VM_CACHE", REPO / "build" / "vm"))
MIRROR = os.environ.get("NETMIRROR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# The images, one row each. Another debootstrap-able distribution is one more row (its suite, archive,
# kernel package and a free 198.18.70.x address) and a platform in extensions/molecule/kernels/molecule.yml;
# e.g. Ubuntu 22.04: {"suite": "jammy", "mirror": "http://archive.ubuntu.com/ubuntu",
# "kernel_package": "linux-image-virtual", "address": "198.18.70.22"} (not tried here: these machines reach
# Debian's archive only). An EL image would need a dnf --installroot build in place of debootstrap.
IMAGES = {
    "debian-11": {
        "suite": "bullseye",
        "mirror": MIRROR,
        "kernel_package": "linux-image-amd64",
        "address": "198.18.70.11",
    },
    "debian-12": {
        "suite": "bookworm",
        "mirror": MIRROR,
        "kernel_package": "linux-image-amd64",
        "address": "198.18.70.12",
    },
    "debian-13": {
        "suite": "trixie",
        "mirror": MIRROR,
        "kernel_package": "linux-image-amd64",
        "address": "198.18.70.13",
    },
}
RELEASES = {name: image["suite"] for name, image in IMAGES.items()}
GUEST_ADDRESSES = {name: image["address"] for name, image in IMAGES.items()}
# What the guests need: systemd and sshd, what the role installs (so no guest reaches a registry), and
# netbase (/etc/protocols, as on any real host). pytest comes from tests/vm/guest-requirements.txt.
PACKAGES = (
    "initramfs-tools,systemd-sysv,udev,kmod,dbus,openssh-server,python3,python3-apt,"
    "iproute2,nftables,ethtool,procps,strace,netbase"
)
IMAGE_SIZE = "3G"
BRIDGE = "nmvm0"
BRIDGE_ADDRESS = "198.18.70.1/24"
PEER_ADDRESS = "198.18.70.3"
COLLECTOR_ADDRESS = "198.18.70.2"
MEMORY_MB = 1024


def sh(*args, check=True, **kwargs):
    return subprocess.run([str(a) for a in args], check=check, text=True, capture_output=True, **kwargs)


def lab_key():
    """The SSH key baked into the cached images (a test key for local VMs only), made once."""
    key = CACHE / "id_ed25519"
    if not key.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netmirror-vm-lab", "-f", key)
    return key


def _recipe_digest(distro):
    """What an image is made of: rebuild when any of it changes."""
    recipe = [json.dumps(IMAGES[distro], sort_keys=True), PACKAGES, IMAGE_SIZE, _public_key()]
    recipe += [inspect.getsource(build_image), inspect.getsource(_configure_guest)]
    return hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]


def _public_key():
    return Path(str(lab_key()) + ".pub").read_text()


def image_dir(distro):
    return CACHE / distro


def build_image(distro, log=print):
    """rootfs -> ext4 disk image + the kernel and initrd it installed; cached by recipe digest."""
    directory = image_dir(distro)
    digest = _recipe_digest(distro)
    stamp = directory / "recipe"
    if stamp.exists() and stamp.read_text() == digest:
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    rootfs = directory / "rootfs"
    started = time.monotonic()
    image = IMAGES[distro]
    log("{0}: debootstrap {1} (from {2})".format(distro, image["suite"], image["mirror"]))
    packages = image["kernel_package"] + "," + PACKAGES
    result = sh(
        "debootstrap",
        "--variant=minbase",
        "--include=" + packages,
        image["suite"],
        rootfs,
        image["mirror"],
        check=False,
    )
    if result.returncode != 0:
        (directory / "debootstrap.log").write_text(result.stdout + result.stderr)
        log_file = directory / "debootstrap.log"
        raise SystemExit("{0}: debootstrap failed (exit {1}); see {2}".format(distro, result.returncode, log_file))
    _configure_guest(rootfs, GUEST_ADDRESSES[distro], distro)
    boot = rootfs / "boot"
    shutil.copy(sorted(boot.glob("vmlinuz-*"))[-1], directory / "vmlinuz")
    shutil.copy(sorted(boot.glob("initrd.img-*"))[-1], directory / "initrd.img")
    sh("mkfs.ext4", "-q", "-L", "root", "-d", rootfs, directory / "disk.raw", IMAGE_SIZE)
    shutil.rmtree(rootfs)
    stamp.write_text(digest)
    log("{0}: image built in {1:.0f} s".format(distro, time.monotonic() - started))
    return directory


def _configure_guest(rootfs, address, hostname):
    (rootfs / "etc" / "fstab").write_text("LABEL=root / ext4 defaults 0 1\n")
    (rootfs / "etc" / "hostname").write_text(hostname + "\n")
    network = rootfs / "etc" / "systemd" / "network" / "10-eth0.network"
    network.parent.mkdir(parents=True, exist_ok=True)
    network.write_text(
        "[Match]\nName=eth0\n\n[Network]\nAddress={0}/24\nGateway=198.18.70.1\nLinkLocalAddressing=no\n".format(address)
    )
    sh("systemctl", "--root", rootfs, "enable", "systemd-networkd", "ssh")
    ssh_dir = rootfs / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(_public_key())
    os.chmod(ssh_dir / "authorized_keys", 0o600)


def probe_accelerator(directory, labdir):
    """'kvm' when a KVM guest gets past early boot within 20 s, else 'tcg'."""
    if os.environ.get("NETMIRROR_VM_ACCEL"):
        return os.environ["NETMIRROR_VM_ACCEL"]
    if not os.access("/dev/kvm", os.W_OK):
        return "tcg"
    log = labdir / "kvm-probe.console.log"
    process = subprocess.Popen(
        _qemu_base("kvm", directory, log) + ["-append", "console=ttyS0 panic=-1 root=/dev/nonexistent", "-no-reboot"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end and process.poll() is None:
            if log.exists() and "Run /init" in log.read_text(errors="replace"):
                return "kvm"
            time.sleep(0.5)
        return "tcg"
    finally:
        process.kill()
        process.wait()


def _qemu_base(accel, directory, console_log):
    return [
        "qemu-system-x86_64",
        "-accel",
        accel,
        "-m",
        str(MEMORY_MB),
        "-smp",
        "1",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "file:" + str(console_log),
        "-kernel",
        str(directory / "vmlinuz"),
        "-initrd",
        str(directory / "initrd.img"),
    ]


def tap_name(distro):
    return "nmvt-" + distro.replace("debian-", "d")


def boot(labdir, distro, accel):
    directory = image_dir(distro)
    console = labdir / (distro + ".console.log")
    tap = tap_name(distro)
    sh("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    sh("ip", "link", "set", tap, "master", BRIDGE, "up")
    address = GUEST_ADDRESSES[distro]
    mac = "52:54:00:12:70:{0:02x}".format(int(address.rsplit(".", 1)[1]))
    command = _qemu_base(accel, directory, console) + [
        # -snapshot: writes go to a temporary overlay that lives as long as qemu (a guest reboot keeps
        # them), so the cached image is never changed.
        "-snapshot",
        "-drive",
        "file={0},if=virtio,format=raw".format(directory / "disk.raw"),
        "-netdev",
        "tap,id=lab,ifname={0},script=no,downscript=no".format(tap),
        "-device",
        "virtio-net-pci,netdev=lab,romfile=,mac=" + mac,  # no option ROM: nothing boots from the network
        "-append",
        "root=LABEL=root rw console=ttyS0 net.ifnames=0 panic=10",
    ]
    process = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    (labdir / (distro + ".pid")).write_text(str(process.pid))
    return process


def ssh_command(labdir, address):
    return [
        "ssh",
        "-i",
        str(lab_key()),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "LogLevel=ERROR",
        "root@" + address,
    ]


def ssh(labdir, address, command, timeout=30, **kwargs):
    return subprocess.run(
        ssh_command(labdir, address) + [command], text=True, capture_output=True, timeout=timeout, check=False, **kwargs
    )


def wait_for_ssh(labdir, distro, deadline=600):
    address = GUEST_ADDRESSES[distro]
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            state = ssh(labdir, address, "systemctl is-system-running --wait", timeout=120).stdout.strip()
            if state in ("running", "degraded"):
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)
    raise SystemExit(
        "{0} ({1}) did not come up over SSH within {2} s; its serial console is in {3}".format(
            distro, address, deadline, labdir / (distro + ".console.log")
        )
    )


def _namespace(name, address):
    netns = "nmvm-" + name
    veth = "nmvv-" + name[:6]
    sh("ip", "netns", "add", netns)
    sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
    sh("ip", "link", "set", veth, "master", BRIDGE, "up")
    sh("ip", "-n", netns, "link", "set", "lo", "up")
    sh("ip", "-n", netns, "addr", "add", address + "/24", "dev", "eth0")
    sh("ip", "-n", netns, "link", "set", "eth0", "up")


def guest_vni(distro):
    """Each guest mirrors with its own VNI (its address's last byte), so the collector counts each apart."""
    return int(GUEST_ADDRESSES[distro].rsplit(".", 1)[1])


def _collector_vxlan(distro):
    """A VXLAN device per guest in the collector namespace: its rx counter counts that guest's copies."""
    vni = guest_vni(distro)
    device = "vni{0}".format(vni)
    sh("ip", "-n", "nmvm-collector", "link", "add", device, "type", "vxlan", "id", vni, "dstport", 4789)
    sh("ip", "-n", "nmvm-collector", "link", "set", device, "up")


def build_images(distros, log=print):
    """Builds (or finds cached) every image at once: debootstrap waits on the archive more than on the CPU, so
    three builds side by side take about as long as one. Returns {distro: {"build_s": seconds}}."""
    timings, errors = {}, {}

    def build(distro):
        started = time.monotonic()
        try:
            build_image(distro, log=log)
        except BaseException as error:  # SystemExit from a failed debootstrap included: reported below
            errors[distro] = error
        timings[distro] = {"build_s": round(time.monotonic() - started, 1)}

    lab_key()  # made once, before the builds that bake it in
    threads = [threading.Thread(target=build, args=(distro,)) for distro in distros]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit("; ".join("{0}: {1}".format(distro, errors[distro]) for distro in sorted(errors)))
    return timings


def up(labdir, distros, log=print):
    labdir.mkdir(parents=True, exist_ok=True)
    timings = build_images(distros, log=log)
    key = lab_key()
    accel = probe_accelerator(image_dir(distros[0]), labdir)
    (labdir / "accelerator").write_text(accel)
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    _namespace("peer", PEER_ADDRESS)
    _namespace("collector", COLLECTOR_ADDRESS)
    for distro in distros:
        _collector_vxlan(distro)
    started = {}
    for distro in distros:
        boot(labdir, distro, accel)
        started[distro] = time.monotonic()
    for distro in distros:
        wait_for_ssh(labdir, distro)
        timings[distro]["boot_s"] = round(time.monotonic() - started[distro], 1)
    (labdir / "timings.json").write_text(json.dumps(timings))
    return {
        distro: {
            "instance": distro,
            "address": GUEST_ADDRESSES[distro],
            "user": "root",
            "port": 22,
            "identity_file": str(key),
        }
        for distro in distros
    }


def boot_id(labdir, distro):
    return ssh(labdir, GUEST_ADDRESSES[distro], "cat /proc/sys/kernel/random/boot_id").stdout.strip()


def reboot(labdir, distro, deadline=600):
    booted = boot_id(labdir, distro)
    ssh(labdir, GUEST_ADDRESSES[distro], "systemctl reboot")
    now = wait_for_new_boot(lambda: boot_id(labdir, distro), booted, deadline=deadline, poll=3)
    if now is None:
        raise SystemExit("{0} did not come back from a reboot within {1} s".format(distro, deadline))
    wait_for_ssh(labdir, distro)
    return now


def down(labdir):
    stop_supervised(labdir, grace_seconds=10)
    for distro in RELEASES:
        sh("ip", "link", "del", tap_name(distro), check=False)
    for name in ("peer", "collector"):
        sh("ip", "netns", "del", "nmvm-" + name, check=False)
    sh("ip", "link", "del", BRIDGE, check=False)


def main(argv):
    def up_and_print(labdir, distros):
        unknown = [d for d in distros if d not in RELEASES]
        if unknown or not distros:
            raise SystemExit("vmlab.py up: distros must be among {0}, got {1}".format(sorted(RELEASES), distros))
        print(json.dumps(up(labdir, distros, log=lambda line: print(line, file=sys.stderr))))

    lab_command(argv, "vmlab.py", up_and_print, lambda labdir, distro: print(reboot(labdir, distro)), down)


if __name__ == "__main__":
    main(sys.argv)
