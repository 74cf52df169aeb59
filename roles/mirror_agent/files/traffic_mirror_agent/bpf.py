"""Truncation of copies in the kernel: a tiny eBPF program (cls_bpf, direct action)
on the egress of a vxlan device that trims each frame to N bytes with
bpf_skb_change_tail() before the vxlan driver encapsulates it.

Loaded with the bpf() system call through ctypes (no compiler, no libbpf),
pinned in a bpf filesystem only long enough for ``tc ... bpf da object-pinned``
to attach it; the tc filter then holds the program.

The kernel will not trim below the packet headers it knows (up to the start of
the transport header when the stack has set it, or past the checksum field of
a checksum-offloaded packet). The program first tries N; when the kernel
refuses, it tries N+1, N+2, ... (a bounded loop), so a copy keeps
max(N, the kernel's minimum) bytes and is never longer than it was.
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
# How many bytes beyond the requested length the program may keep when the
# kernel refuses to cut into the headers it knows.
MAX_EXTRA = 192
PROG_NAME_PREFIX = "tma_t"


class BpfError(OSError):
    pass


def _insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def program(length):
    """eBPF instructions (bytes) of the truncation program for ``length``.

    Trims to ``length``; when the kernel refuses (it will not cut into the
    headers it knows), tries one byte more, up to MAX_EXTRA bytes more, so the
    copy keeps max(length, the kernel's minimum) bytes. A frame no longer than
    that is left as it is.
    """
    out = 11
    insns = [
        _insn(0xBF, dst=6, src=1),  # 0: r6 = ctx
        _insn(0x61, dst=7, src=6, off=0),  # 1: r7 = skb->len
        _insn(0xB7, dst=8, imm=length),  # 2: r8 = length
        _insn(0xBD, dst=7, src=8, off=out - 4),  # 3: if r7 <= r8 goto out
        _insn(0xBF, dst=1, src=6),  # 4: r1 = ctx
        _insn(0xBF, dst=2, src=8),  # 5: r2 = r8
        _insn(0xB7, dst=3, imm=0),  # 6: r3 = 0 (flags)
        _insn(0x85, imm=BPF_FUNC_SKB_CHANGE_TAIL),  # 7: call bpf_skb_change_tail
        _insn(0x15, dst=0, off=out - 9, imm=0),  # 8: if r0 == 0 goto out
        _insn(0x07, dst=8, imm=1),  # 9: r8 += 1
        _insn(0xA5, dst=8, off=3 - 11, imm=length + MAX_EXTRA),  # 10: if r8 < length + MAX_EXTRA goto 3
        _insn(0xB7, dst=0, imm=TC_ACT_OK),  # 11 (out): r0 = TC_ACT_OK
        _insn(0x95),  # 12: exit
    ]
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
    """Load the truncation program for ``length``; returns its file descriptor."""
    return load_code(program(length), program_name(length))


def load_code(code, name):
    """Load eBPF instructions ``code`` as a cls_bpf program called ``name``; returns its fd."""
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    name = name.encode("ascii")[:15]

    def attempt(log_level, log):
        attr = bytearray(128)
        struct.pack_into(
            "<IIQQIIQII16s",
            attr,
            0,
            BPF_PROG_TYPE_SCHED_CLS,
            len(code) // 8,
            ctypes.addressof(insns),
            ctypes.addressof(license_),
            log_level,
            len(log) if log is not None else 0,
            ctypes.addressof(log) if log is not None else 0,
            0,
            0,
            name,
        )
        return _bpf(BPF_PROG_LOAD, attr)

    try:
        return attempt(0, None)
    except BpfError as exc:
        if exc.errno == errno.EPERM:
            raise BpfError(
                exc.errno,
                "loading an eBPF program is not permitted (needs CAP_BPF/CAP_SYS_ADMIN and the bpf() system call)",
            ) from None
        # again with the verifier's log (its last lines say why)
        log = ctypes.create_string_buffer(1 << 20)
        try:
            os.close(attempt(1, log))
        except BpfError:
            pass
        detail = log.value.decode("utf-8", "replace").strip()
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


def _mount_bpffs(path):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"bpf", path.encode("utf-8"), b"bpf", 0, None) != 0:
        err = ctypes.get_errno()
        raise BpfError(err, "mounting a bpf filesystem on %s: %s" % (path, os.strerror(err)))


def _umount(path):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(path.encode("utf-8"), 2)  # MNT_DETACH


class PinnedProgram(object):
    """Context manager: load a program with ``load_fd()`` (returns its file
    descriptor) and pin it as ``<tag>_<pid>``; yields the path; removes the pin
    (and a private bpffs mount) on exit. Pins in the host's bpf filesystem when
    one is mounted and writable, else in a private one mounted for the moment."""

    def __init__(self, load_fd, tag):
        self.load_fd = load_fd
        self.tag = tag
        self.mountpoint = None
        self.path = None
        self.fd = None

    def _pin_in(self, base):
        path = os.path.join(base, "%s_%d" % (self.tag, os.getpid()))
        if os.path.exists(path):
            os.unlink(path)
        pin(self.fd, path)
        self.path = path

    def __enter__(self):
        self.fd = self.load_fd()
        try:
            base = bpffs_mount()
            try:
                if base is None:
                    raise BpfError(errno.ENOENT, "no bpf filesystem mounted")
                self._pin_in(base)
            except OSError:
                self.mountpoint = tempfile.mkdtemp(prefix="tma-bpffs-")
                _mount_bpffs(self.mountpoint)
                self._pin_in(self.mountpoint)
        except BaseException:
            self.__exit__()
            raise
        return self.path

    def __exit__(self, *exc):
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)
        self.path = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.mountpoint:
            _umount(self.mountpoint)
            try:
                os.rmdir(self.mountpoint)
            except OSError:
                pass
            self.mountpoint = None
        return False


def pinned_truncation(length):
    """The truncation program for ``length``, loaded and pinned for ``tc ... object-pinned``."""
    return PinnedProgram(lambda: load(length), "tma_trunc_%d" % length)
