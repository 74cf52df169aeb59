"""What the booted-host labs share (tests/lab/nspawn_lab.py: systemd-nspawn hosts; tests/vm/vmlab.py: qemu VMs).

Each host runs in a process group of its own, its leader's pid written to LABDIR/<host>.pid; a reboot is seen as
a new /proc/sys/kernel/random/boot_id.
"""

import os
import signal
import subprocess
import time
from pathlib import Path


def _alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_supervised(labdir, grace_seconds):
    """SIGTERM every process group named by a LABDIR/*.pid file (nspawn and qemu shut down on it), SIGKILL what is
    still there after grace_seconds, and remove the pid file."""
    for pid_file in sorted(Path(labdir).glob("*.pid")):
        pgid = int(pid_file.read_text())
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        end = time.monotonic() + grace_seconds
        while _alive(pgid) and time.monotonic() < end:
            time.sleep(0.5)
        if _alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pid_file.unlink()


def wait_for_new_boot(read_boot_id, booted, deadline, poll):
    """Call read_boot_id() every poll seconds until it answers an id other than booted (an SSH timeout while the
    host is down is waited out); that id, or None when deadline seconds pass first."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        time.sleep(poll)
        try:
            now = read_boot_id()
        except subprocess.TimeoutExpired:
            continue
        if now and now != booted:
            return now
    return None


def lab_command(argv, script, up, reboot, down):
    """The command line both labs take: ``SCRIPT up LABDIR HOST...`` calls up(labdir, hosts), ``SCRIPT reboot
    LABDIR HOST`` reboot(labdir, host), ``SCRIPT down LABDIR`` down(labdir); anything else exits with the usage."""
    usage = "usage: {0} up|reboot|down LABDIR [HOST...]".format(script)
    if len(argv) < 3 or argv[1] not in ("up", "reboot", "down") or (argv[1] == "reboot" and len(argv) < 4):
        raise SystemExit(usage)
    command, labdir, hosts = argv[1], Path(argv[2]).resolve(), argv[3:]
    if command == "up":
        up(labdir, hosts)
    elif command == "reboot":
        reboot(labdir, hosts[0])
    else:
        down(labdir)
