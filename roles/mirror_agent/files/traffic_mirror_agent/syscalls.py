"""Every ctypes call the agent makes, in one place: the bpf() system call,
mount/umount of a bpf filesystem, unshare of a network namespace and the
ethtool ioctl. The rest of the agent stays plain Python."""

import ctypes
import errno
import fcntl
import os
import platform
import resource
import socket
import struct
import sys

SYSCALL_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351, "riscv64": 280}
CLONE_NEWNET = 0x40000000
MNT_DETACH = 2
SIOCETHTOOL = 0x8946


class BpfError(OSError):
    pass


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def native_little_endian():
    """The agent packs eBPF in the host's order and only knows little-endian layouts: refuse others clearly."""
    if sys.byteorder != "little":
        raise BpfError(
            errno.ENOTSUP, "eBPF from this agent needs a little-endian host; this one is %s-endian" % sys.byteorder
        )


def _syscall_number():
    number = SYSCALL_BPF.get(platform.machine())
    if number is None:
        raise BpfError(errno.ENOSYS, "bpf() system call number unknown for %s" % platform.machine())
    return number


MEMLOCK = {"lifted": False}


def lift_memlock_limit():
    """Kernels before 5.11 charge eBPF programs and maps to RLIMIT_MEMLOCK and refuse them with EPERM past
    it (a systemd service on Debian 11 gets 64 KiB); later kernels charge the memory cgroup instead. So raise
    the soft limit as far as this process may, as libbpf does. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    for wanted in ((resource.RLIM_INFINITY, resource.RLIM_INFINITY), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, wanted)
            return wanted[0]
        except (ValueError, OSError):  # raising the hard limit needs CAP_SYS_RESOURCE
            continue
    return soft


def memlock_hint():
    """What to add to an EPERM from bpf(): the locked-memory limit when it is finite."""
    soft = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if soft == resource.RLIM_INFINITY:
        return ""
    return (
        "; or the locked-memory limit is too low: RLIMIT_MEMLOCK is %d KiB, which kernels before 5.11 charge"
        " eBPF memory to (LimitMEMLOCK=infinity in a systemd unit, ulimit -l unlimited in a shell)" % (soft // 1024)
    )


def bpf(cmd, attr):
    """bpf(cmd, attr, sizeof attr); ``attr`` a bytearray the kernel may write back into. Returns the result."""
    if not MEMLOCK["lifted"]:
        lift_memlock_limit()
        MEMLOCK["lifted"] = True
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    result = _libc().syscall(ctypes.c_long(_syscall_number()), ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr)))
    if result < 0:
        err = ctypes.get_errno()
        raise BpfError(err, os.strerror(err) + (memlock_hint() if err == errno.EPERM else ""))
    attr[:] = buf.raw[: len(attr)]
    return result


class Buffers(object):
    """Keeps ctypes buffers alive while their addresses sit in a bpf attr."""

    def __init__(self):
        self._keep = []

    def bytes_at(self, data):
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        self._keep.append(buf)
        return ctypes.addressof(buf)

    def zeros(self, size):
        buf = ctypes.create_string_buffer(size)
        self._keep.append(buf)
        return buf, ctypes.addressof(buf)


def mount_bpffs(path):
    if _libc().mount(b"bpf", path.encode("utf-8"), b"bpf", 0, None) != 0:
        err = ctypes.get_errno()
        raise BpfError(err, "mounting a bpf filesystem on %s: %s" % (path, os.strerror(err)))


def umount(path):
    _libc().umount2(path.encode("utf-8"), MNT_DETACH)


def unshare_netns():
    """Move this process into a new network namespace; returns an error text or None."""
    if _libc().unshare(CLONE_NEWNET) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def ethtool_get(name, command):
    """The value of an ethtool ``ETHTOOL_G*`` value command on interface ``name``; raises OSError."""
    value = ctypes.create_string_buffer(struct.pack("II", command, 0), 8)
    request = struct.pack("16sP", name.encode("utf-8")[:15], ctypes.addressof(value)).ljust(40, b"\0")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
    finally:
        sock.close()
    return struct.unpack("II", value.raw)[1]
