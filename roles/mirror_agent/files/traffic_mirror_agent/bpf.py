"""Truncation of copies in the kernel: a tiny eBPF program (cls_bpf, direct action)
on the egress of a vxlan device that trims each frame to N bytes with
bpf_skb_change_tail() before the vxlan driver encapsulates it.

Loaded with the bpf() system call through ctypes (no compiler, no libbpf),
pinned in a bpf filesystem only long enough for ``tc ... bpf da object-pinned``
to attach it; the tc filter then holds the program.

The kernel will not trim below the packet headers it knows (for a copy made on
the egress hook: up to the transport header, or past the checksum field of a
checksum-offloaded packet). The program first tries N; when the kernel refuses,
it tries a few larger lengths and keeps the first that works, so a copy is as
short as the kernel allows and never longer than it was.
"""

import ctypes
import errno
import os
import platform
import struct
import tempfile

BPF_PROG_LOAD = 5
BPF_OBJ_PIN = 6
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_FUNC_SKB_CHANGE_TAIL = 38
TC_ACT_OK = 0
SYSCALL_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351, "riscv64": 280}
# Lengths tried when the kernel refuses a shorter one (headers of common packets).
FALLBACK_LENGTHS = (34, 42, 54, 58, 62, 66, 74, 78, 86, 94, 110, 128)
PROG_NAME_PREFIX = "tma_t"


class BpfError(OSError):
    pass


def _insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def program(length):
    """eBPF instructions (bytes) of the truncation program for ``length``."""
    candidates = [length] + [c for c in FALLBACK_LENGTHS if c > length]
    insns = [
        _insn(0xBF, dst=6, src=1),  # r6 = ctx
        _insn(0x61, dst=7, src=6, off=0),  # r7 = skb->len
    ]
    # Each attempt: if r7 <= c goto out; r1 = r6; r2 = c; r3 = 0; call; if r0 == 0 goto out
    attempt = 6
    total = 2 + attempt * len(candidates)
    for index, candidate in enumerate(candidates):
        here = 2 + attempt * index
        out = total  # index of "r0 = 0"
        insns.append(_insn(0xB5, dst=7, off=out - (here + 1), imm=candidate))
        insns.append(_insn(0xBF, dst=1, src=6))
        insns.append(_insn(0xB7, dst=2, imm=candidate))
        insns.append(_insn(0xB7, dst=3, imm=0))
        insns.append(_insn(0x85, imm=BPF_FUNC_SKB_CHANGE_TAIL))
        insns.append(_insn(0x15, dst=0, off=out - (here + 6), imm=0))
    insns.append(_insn(0xB7, dst=0, imm=TC_ACT_OK))
    insns.append(_insn(0x95))
    return b"".join(insns)


def program_name(length):
    return ("%s%d" % (PROG_NAME_PREFIX, length))[:15]


def _syscall_number():
    number = SYSCALL_BPF.get(platform.machine())
    if number is None:
        raise BpfError(errno.ENOSYS, "bpf() system call number unknown for %s" % platform.machine())
    return number


def _bpf(cmd, attr):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    result = libc.syscall(ctypes.c_long(_syscall_number()), ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr)))
    if result < 0:
        err = ctypes.get_errno()
        raise BpfError(err, os.strerror(err))
    return result


def load(length):
    """Load the program; returns its file descriptor."""
    code = program(length)
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    name = program_name(length).encode("ascii")
    attr = bytearray(128)
    struct.pack_into(
        "<IIQQIIQII16s",
        attr,
        0,
        BPF_PROG_TYPE_SCHED_CLS,
        len(code) // 8,
        ctypes.addressof(insns),
        ctypes.addressof(license_),
        1,
        len(log),
        ctypes.addressof(log),
        0,
        0,
        name,
    )
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except BpfError as exc:
        detail = log.value.decode("utf-8", "replace").strip()
        if exc.errno == errno.EPERM:
            raise BpfError(
                exc.errno,
                "loading an eBPF program is not permitted (needs CAP_BPF/CAP_SYS_ADMIN and the bpf() system call)",
            ) from None
        raise BpfError(
            exc.errno, "eBPF program load failed: %s%s" % (exc.strerror, (": " + detail[-500:]) if detail else "")
        ) from None


def pin(fd, path):
    path_buf = ctypes.create_string_buffer(path.encode("utf-8"))
    attr = bytearray(16)
    struct.pack_into("<QI", attr, 0, ctypes.addressof(path_buf), fd)
    _bpf(BPF_OBJ_PIN, attr)


def bpffs_mount():
    """A mounted bpf filesystem, or None."""
    try:
        with open("/proc/self/mounts") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "bpf":
                    return fields[1]
    except OSError:
        pass
    return None


class PinnedProgram(object):
    """Context manager: load the program for ``length`` and pin it; yields the
    path; removes the pin (and a temporary bpffs mount) on exit."""

    def __init__(self, length, run):
        self.length = length
        self.run = run  # kernel.run, to mount/umount
        self.mountpoint = None
        self.path = None
        self.fd = None

    def __enter__(self):
        base = bpffs_mount()
        if base is None:
            self.mountpoint = tempfile.mkdtemp(prefix="tma-bpffs-")
            try:
                self.run(["mount", "-t", "bpf", "bpf", self.mountpoint])
            except Exception:
                os.rmdir(self.mountpoint)
                self.mountpoint = None
                raise
            base = self.mountpoint
        self.fd = load(self.length)
        self.path = os.path.join(base, "tma_trunc_%d_%d" % (os.getpid(), self.length))
        if os.path.exists(self.path):
            os.unlink(self.path)
        pin(self.fd, self.path)
        return self.path

    def __exit__(self, *exc):
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)
        if self.fd is not None:
            os.close(self.fd)
        if self.mountpoint:
            try:
                self.run(["umount", self.mountpoint])
                os.rmdir(self.mountpoint)
            except Exception:
                pass
        return False
