"""The eBPF data path on the mirrored interfaces: a clsact qdisc and one cls_bpf
filter (direct action) per direction at a fixed pref and handle, running the
program compiler.py makes from the plan.

A program is named ``tma_`` + 11 hex digits of a hash of its instructions (the
counter map's file descriptor left out), so the kernel's filter says which
program it runs: an unchanged plan loads nothing. A changed one is swapped by
``tc filter replace`` at the same pref and handle (cls_bpf swaps the program
in place: no moment with no filter or with two). All programs are loaded
before anything changes, so a verifier rejection leaves the kernel as it was.
"""

import contextlib
import errno
import hashlib
import os
import re

from . import bpf
from . import host
from . import maps
from .compiler import program_for
from .errors import AgentError
from .syscalls import BpfError

PREF = "49"  # chosen to be out of the way of others' filters (they usually start at 1)
HANDLE = "1"
NAME_RE = re.compile(r"^tma_[0-9a-f]{11}$")
DIRECTIONS = ("ingress", "egress")


def program_name(compiled):
    return "tma_" + hashlib.sha256(compiled.code).hexdigest()[:11]


def ifindexes(all_links):
    return {name: link.get("ifindex") for name, link in all_links.items()}


def attached(interface, filters=None):
    """direction -> (program name, program id, tag) of the agent's filters on ``interface``; ``filters``:
    {(interface, direction): host.bpf_filters()} when already read."""
    result = {}
    for direction in DIRECTIONS:
        found = host.bpf_filters(interface, direction) if filters is None else filters[(interface, direction)]
        for pref, _handle, name, prog_id, tag in found:
            if str(pref) == PREF and name and NAME_RE.match(name):
                result[direction] = (name, prog_id, tag or (prog_id and maps.program_tag(prog_id)))
    return result


def runs(have, name, compiled):
    """Whether an attached program (an attached() value) is the one ``compiled`` is: by name, and by the
    tag the kernel computed from its instructions (bpf.expected_tags(): the compiler is deterministic, so
    the same config gives the same instructions and the same tag, and a program swapped in under the
    agent's name, with one test, port, address or redirect changed, has another)."""
    return have is not None and have[0] == name and (not have[2] or have[2] in bpf.expected_tags(compiled.code))


def hooks(plan):
    """(interface, direction) of every program the plan needs, sorted."""
    return sorted((interface, direction) for interface in plan.interfaces_on("ebpf") for direction in DIRECTIONS)


def wanted_program(plan, interface, direction, indexes):
    """(name, compiled) of the plan's program for one hook; ``indexes`` as from ifindexes()."""
    compiled = program_for(plan, interface, direction, indexes)
    return program_name(compiled), compiled


def wanted(plan, all_links):
    """(interface, direction) -> (name, compiled) of every program the plan needs."""
    indexes = ifindexes(all_links)
    return {hook: wanted_program(plan, hook[0], hook[1], indexes) for hook in hooks(plan)}


def snapshot(interfaces):
    """interface -> attached(interface) for the interfaces that exist."""
    interfaces = list(interfaces)
    filters = host.bpf_filters_of((i, direction) for i in interfaces for direction in DIRECTIONS)
    return {interface: attached(interface, filters) for interface in interfaces}


def problems(plan, all_links, programs):
    """Differences of the eBPF part; ``programs`` as from snapshot()."""
    found = []
    indexes = ifindexes(all_links)
    for interface, direction in hooks(plan):
        have = programs.get(interface, {}).get(direction)
        if have is None:
            # nothing to compare with: not compiled (a first apply at 100 interfaces would compile 200 for this)
            found.append("%s %s: the eBPF program is missing" % (interface, direction))
            continue
        name, compiled = wanted_program(plan, interface, direction, indexes)
        if have[0] != name:
            found.append("%s %s: runs eBPF program %s, not %s" % (interface, direction, have[0], name))
        elif not runs(have, name, compiled):
            found.append(
                "%s %s: runs another program than the config's under its name %s (tag %s)"
                % (interface, direction, name, have[2])
            )
    for interface, by_direction in sorted(programs.items()):
        if plan.datapaths.get(interface) != "ebpf":
            for direction in sorted(by_direction):
                found.append("%s %s: an eBPF program not in the config" % (interface, direction))
    return found


class Loaded(object):
    """A program loaded (with its counter map) and not yet attached."""

    def __init__(self, interface, direction, name, fd, map_fd):
        self.interface, self.direction, self.name, self.fd, self.map_fd = interface, direction, name, fd, map_fd

    def close(self):
        for fd in (self.fd, self.map_fd):
            if fd is not None:
                os.close(fd)
        self.fd = self.map_fd = None


def load(interface, direction, name, compiled):
    """Load ``compiled`` (built without a map) with a new counter map; a verifier
    rejection is an AgentError naming the interface and the first lines of the
    verifier's log."""
    map_fd = maps.create_counters(len(compiled.slots))
    try:
        fd = bpf.load_code(_with_map_fd(compiled.code, map_fd), name)
    except BpfError as exc:
        os.close(map_fd)
        raise AgentError(
            "%s %s: the kernel refused the eBPF data path program: %s" % (interface, direction, exc.strerror)
        ) from None
    return Loaded(interface, direction, name, fd, map_fd)


def _with_map_fd(code, map_fd):
    """``code`` with every map reference (ld_imm64 with src_reg 1) pointing at ``map_fd``."""
    out = bytearray(code)
    for offset in range(0, len(out), 8):
        if out[offset] == 0x18 and (out[offset + 1] >> 4) == 1:
            out[offset + 4 : offset + 8] = map_fd.to_bytes(4, "little", signed=True)
    return bytes(out)


def attach(loaded):
    """Attach (or swap in) a loaded program; closes its file descriptors."""
    attach_all([loaded])


def attach_all(loaded):
    """Attach (or swap in) loaded programs with one ``tc -b`` batch (a clsact qdisc first where an
    interface has none); closes their file descriptors. One process instead of two or three per program:
    at 100 interfaces the per-program ``tc`` calls took longer than the rest of apply."""
    try:
        if not loaded:
            return
        have = set(interfaces_with_clsact())
        lines = ["qdisc add dev %s clsact" % i for i in sorted({p.interface for p in loaded} - have)]
        with contextlib.ExitStack() as pins:
            for number, program in enumerate(loaded):
                # a pin per program (two programs may share a name: the same code on two hooks)
                pin = bpf.PinnedProgram(lambda fd=program.fd: os.dup(fd), "tma_dp%d" % number)
                path = pins.enter_context(pin)
                lines.append(
                    "filter replace dev %s %s pref %s handle %s bpf da object-pinned %s"
                    % (program.interface, program.direction, PREF, HANDLE, path)
                )
            host.run(["tc", "-b", "-"], input_text="\n".join(lines) + "\n")
    finally:
        for program in loaded:
            program.close()


def detach(interface, directions=DIRECTIONS):
    """Remove the agent's filters from ``interface``, and its clsact qdisc when nothing else uses it."""
    detach_all([interface], directions)


def detach_all(interfaces, directions=DIRECTIONS):
    """detach() for many interfaces, in three ``tc -b`` batches (delete, read what is left, delete the
    clsact qdiscs left empty) instead of six ``tc`` processes per interface."""
    interfaces = sorted(interfaces)
    if not interfaces:
        return
    deletions = [
        "filter del dev %s %s pref %s handle %s bpf" % (interface, direction, PREF, HANDLE)
        for interface in interfaces
        for direction in directions
    ]
    # -force: go on past a filter that is already gone
    host.run(["tc", "-force", "-b", "-"], check=False, input_text="\n".join(deletions) + "\n")
    left = _filters_left(interfaces)
    empty = [interface for interface in interfaces if not left[interface]]
    if empty:
        script = "".join("qdisc del dev %s clsact\n" % interface for interface in empty)
        host.run(["tc", "-force", "-b", "-"], check=False, input_text=script)


def _filters_left(interfaces):
    """interface -> whether any tc filter (the agent's or another's) is still on its clsact hooks. Read as
    text, one ``tc`` per hook: iproute2 5.9 prints JSON some filters' options cannot be parsed from (a
    foreign u32 filter read as "none" cost its owner the qdisc), and whatever it prints, text is non-empty."""
    left = {}
    for interface in interfaces:
        left[interface] = any(
            host.run(["tc", "filter", "show", "dev", interface, direction], check=False).stdout.strip()
            for direction in DIRECTIONS
        )
    return left


def counters(interface, direction, prog_id):
    """[(packets, bytes)] per slot of an attached program; [] when the program is gone since it was
    seen (an apply replaced it meanwhile: its counters went with it)."""
    try:
        return maps.read_counters(prog_id)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise AgentError("%s %s: reading the eBPF counters failed: %s" % (interface, direction, exc)) from None


def interfaces_with_clsact():
    """Interfaces with a clsact qdisc (one ``tc`` call for all): only they can carry a program."""
    data = host.run_json(["tc", "-j", "qdisc", "show"], check=False) or []
    return sorted({q["dev"] for q in data if q.get("kind") == "clsact" and q.get("dev")})


def scan(exclude=()):
    """interface -> attached() for every interface carrying one of the agent's programs."""
    found = snapshot([i for i in interfaces_with_clsact() if i not in exclude])
    return {interface: programs for interface, programs in found.items() if programs}
