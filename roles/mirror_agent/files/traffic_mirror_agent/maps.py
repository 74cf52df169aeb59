"""The counter maps of the eBPF data path: a per-CPU array of (packets, bytes)
per slot, created with the program, found again from the attached program's
id (tc reports it; nothing is pinned)."""

import os
import struct

from . import syscalls

BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_PROG_GET_FD_BY_ID = 13
BPF_MAP_GET_FD_BY_ID = 14
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_TYPE_PERCPU_ARRAY = 6
VALUE = struct.Struct("=QQ")  # packets, bytes


def possible_cpus():
    """How many per-CPU values a lookup returns (the kernel's possible CPUs, e.g. "0-3")."""
    with open("/sys/devices/system/cpu/possible") as handle:
        text = handle.read().strip()
    count = 0
    for part in text.split(","):
        low, _dash, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def create_counters(slots, name="tma_counters"):
    """A new per-CPU array map with ``slots`` entries of (packets, bytes); returns its fd."""
    syscalls.native_little_endian()
    attr = bytearray(72)
    struct.pack_into(
        "=IIIIIII16s", attr, 0, BPF_MAP_TYPE_PERCPU_ARRAY, 4, VALUE.size, max(slots, 1), 0, 0, 0, name.encode()[:15]
    )
    return syscalls.bpf(BPF_MAP_CREATE, attr)


def _fd_by_id(command, object_id):
    attr = bytearray(16)
    struct.pack_into("=I", attr, 0, object_id)
    return syscalls.bpf(command, attr)


def _program_info(prog_id):
    """(struct bpf_prog_info bytes, map ids bytes) of program ``prog_id``."""
    fd = _fd_by_id(BPF_PROG_GET_FD_BY_ID, prog_id)
    try:
        keep = syscalls.Buffers()
        ids, ids_addr = keep.zeros(4 * 8)
        info, info_addr = keep.zeros(256)
        struct.pack_into("=IQ", info, 52, 8, ids_addr)  # nr_map_ids, map_ids
        attr = bytearray(16)
        struct.pack_into("=IIQ", attr, 0, fd, 256, info_addr)
        syscalls.bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        return info.raw, ids.raw
    finally:
        os.close(fd)


def program_map_ids(prog_id):
    """The ids of the maps program ``prog_id`` uses."""
    info, ids = _program_info(prog_id)
    count = struct.unpack_from("=I", info, 52)[0]
    return list(struct.unpack_from("=%dI" % min(count, 8), ids, 0))


def program_name(prog_id):
    """The name program ``prog_id`` was loaded with (bpf_prog_info.name), or None when it cannot be read."""
    try:
        info, _ids = _program_info(prog_id)
    except OSError:
        return None
    return info[64:80].split(b"\0", 1)[0].decode("ascii", "replace") or None


def program_tag(prog_id):
    """The tag the kernel computed for program ``prog_id`` (bpf_prog_info.tag, 16 hex digits), or None."""
    try:
        info, _ids = _program_info(prog_id)
    except OSError:
        return None
    return info[8:16].hex()


def read_counters(prog_id):
    """[(packets, bytes)] per slot of the counter map of program ``prog_id``, summed over the CPUs."""
    map_ids = program_map_ids(prog_id)
    if not map_ids:
        return []
    fd = _fd_by_id(BPF_MAP_GET_FD_BY_ID, map_ids[0])
    try:
        info = syscalls.Buffers()
        raw, raw_addr = info.zeros(80)
        attr = bytearray(16)
        struct.pack_into("=IIQ", attr, 0, fd, 80, raw_addr)
        syscalls.bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
        max_entries = struct.unpack_from("=I", raw.raw, 16)[0]
        cpus = possible_cpus()
        result = []
        for slot in range(max_entries):
            keep = syscalls.Buffers()
            key_addr = keep.bytes_at(struct.pack("=I", slot))
            value, value_addr = keep.zeros(VALUE.size * cpus)
            attr = bytearray(32)
            struct.pack_into("=IIQQ", attr, 0, fd, 0, key_addr, value_addr)
            syscalls.bpf(BPF_MAP_LOOKUP_ELEM, attr)
            per_cpu = [VALUE.unpack_from(value.raw, VALUE.size * cpu) for cpu in range(cpus)]
            result.append((sum(p for p, _bytes in per_cpu), sum(b for _packets, b in per_cpu)))
        return result
    finally:
        os.close(fd)
