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
max(N, the kernel's minimum) bytes and is never longer than it was. It never
keeps more than a limit (N + MAX_EXTRA, and at most the underlay MTU minus the
encapsulation): a frame it cannot trim to that is dropped from the copy stream
(TC_ACT_SHOT on the vxlan device: only the copy, never the original) and
counted in the program's map (one per-CPU slot of packets and frame bytes),
which ``status`` reports as ``untruncatable``. Such a copy is thus never sent
whole, nor fragmented by the vxlan device.
"""

import errno
import hashlib
import os
import struct
import tempfile

from . import asm
from . import maps
from . import syscalls
from .asm import R0
from .asm import R1
from .asm import R2
from .asm import R3
from .asm import R6
from .asm import R7
from .asm import R8
from .asm import R10
from .syscalls import BpfError

BPF_PROG_LOAD = 5
BPF_OBJ_PIN = 6
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_FUNC_SKB_CHANGE_TAIL = 38
TC_ACT_OK = 0
TC_ACT_SHOT = 2
BPF_FUNC_MAP_LOOKUP_ELEM = 1
KEY = -8  # the counter slot on the stack
SKB_LEN = 0  # offsetof(struct __sk_buff, len)
# How many bytes beyond the requested length the program may keep when the
# kernel refuses to cut into the headers it knows.
MAX_EXTRA = 192
PROG_NAME_PREFIX = "tma_t"


def limit_for(length, cap=None):
    """The most bytes a copy may keep: ``length`` + MAX_EXTRA, and no more than ``cap`` (the underlay MTU
    minus the encapsulation) when known."""
    return min(length + MAX_EXTRA, cap) if cap else length + MAX_EXTRA


def program(length, limit=None, map_fd=0):
    """eBPF instructions (bytes) of the truncation program for ``length``.

    Trims to ``length``; when the kernel refuses (it will not cut into the
    headers it knows), tries one byte more, up to ``limit`` bytes (default
    limit_for(length)), so the copy keeps max(length, the kernel's minimum)
    bytes. A frame no longer than that is left as it is. A frame that cannot be
    trimmed to ``limit`` bytes is counted (slot 0 of the map ``map_fd``:
    packets, frame bytes) and dropped: a copy is never sent longer than
    ``limit``.
    """
    limit = limit_for(length) if limit is None else max(limit, length)
    a = asm.Program()
    a.mov(R6, R1)  # r6 = ctx (kept across the call)
    a.ldx(4, R7, R6, SKB_LEN)  # r7 = skb->len
    a.mov(R8, length)  # r8 = the length to try
    a.label("try")
    a.jle(R7, R8, "out")  # no longer than that: leave it
    a.mov(R1, R6)
    a.mov(R2, R8)
    a.mov(R3, 0)  # flags
    a.call(BPF_FUNC_SKB_CHANGE_TAIL)
    a.jeq(R0, 0, "out")  # trimmed
    a.add(R8, 1)  # refused: one byte more
    a.jle(R8, limit, "try")
    # it cannot be trimmed to the limit: count it and drop this copy
    a.st(4, R10, KEY, 0)
    a.ld_map_fd(R1, map_fd)
    a.mov(R2, R10).add(R2, KEY)
    a.call(BPF_FUNC_MAP_LOOKUP_ELEM)
    a.jeq(R0, 0, "drop")
    a.ldx(8, R1, R0, 0).add(R1, 1).stx(8, R0, 0, R1)
    a.ldx(4, R2, R6, SKB_LEN).ldx(8, R1, R0, 8).add(R1, R2).stx(8, R0, 8, R1)
    a.label("drop")
    a.mov(R0, TC_ACT_SHOT)
    a.exit()
    a.label("out")
    a.mov(R0, TC_ACT_OK)
    a.exit()
    return a.assemble()


def program_name(length):
    return ("%s%d" % (PROG_NAME_PREFIX, length))[:15]


def load(length, limit=None):
    """Load the truncation program for ``length`` (and ``limit``) with a new counter map; returns the
    program's file descriptor (the program holds the map)."""
    map_fd = maps.create_counters(1, "tma_untrunc")
    try:
        return load_code(program(length, limit, map_fd), program_name(length))
    finally:
        os.close(map_fd)


def load_code(code, name):
    """Load eBPF instructions ``code`` as a cls_bpf program called ``name``; returns its fd.
    A rejection raises BpfError with the verifier's log (``.log``)."""
    syscalls.native_little_endian()
    name = name.encode("ascii")[:15]

    def attempt(log_size):
        keep = syscalls.Buffers()
        log, log_addr = keep.zeros(log_size) if log_size else (None, 0)
        attr = bytearray(128)
        struct.pack_into(
            "=IIQQIIQII16s",
            attr,
            0,
            BPF_PROG_TYPE_SCHED_CLS,
            len(code) // 8,
            keep.bytes_at(code),
            keep.bytes_at(b"GPL\0"),
            1 if log_size else 0,
            log_size,
            log_addr,
            0,
            0,
            name,
        )
        try:
            return syscalls.bpf(BPF_PROG_LOAD, attr), None
        except BpfError as exc:
            return exc, (log.value.decode("utf-8", "replace").strip() if log is not None else "")

    fd, _log = attempt(0)
    if not isinstance(fd, BpfError):
        return fd
    exc = fd
    if exc.errno == errno.EPERM:
        raise BpfError(
            exc.errno,
            "loading an eBPF program is not permitted (needs CAP_BPF/CAP_SYS_ADMIN and the bpf() system call%s)"
            % syscalls.memlock_hint(),
        ) from None
    # again with the verifier's log, which says why
    again, detail = attempt(1 << 22)
    if not isinstance(again, BpfError):
        os.close(again)
        detail = ""
    error = BpfError(exc.errno, "eBPF program load failed: %s%s" % (exc.strerror, verifier_summary(detail)))
    error.log = detail
    raise error


def verifier_summary(log, lines=6):
    """The first lines of a verifier log (they name the instruction and the reason), for a message."""
    if not log:
        return ""
    kept = [line for line in log.splitlines() if line.strip()][:lines]
    return ": verifier: " + " | ".join(kept)


def pin(fd, path):
    keep = syscalls.Buffers()
    attr = bytearray(16)
    struct.pack_into("=QI", attr, 0, keep.bytes_at(path.encode("utf-8") + b"\0"), fd)
    syscalls.bpf(BPF_OBJ_PIN, attr)


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
                syscalls.mount_bpffs(self.mountpoint)
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
            syscalls.umount(self.mountpoint)
            try:
                os.rmdir(self.mountpoint)
            except OSError:
                pass
            self.mountpoint = None
        return False


def pinned_truncation(length, limit=None):
    """The truncation program for ``length``, loaded and pinned for ``tc ... object-pinned``."""
    return PinnedProgram(lambda: load(length, limit), "tma_trunc_%d" % length)


def expected_tags(code):
    """The tags the kernel may give a program of these instructions (its map references zeroed, as ours
    are when compiled with map fd 0): the first 8 bytes of SHA-1 (Linux before 6.18) or SHA-256 (6.18
    and later, measured here) of the instructions. The agent's compilers are deterministic, so the tag of
    what runs, compared with the tag of what the config compiles to, says whether the kernel runs exactly
    the config's program: any other instruction, constant (a port, an address, a device's ifindex) or
    order of tests gives another tag."""
    return {hashlib.sha1(code).hexdigest()[:16], hashlib.sha256(code).hexdigest()[:16]}
