"""What the agent's eBPF program itself costs per packet, apart from the tc hook it runs on: each
program is run by the kernel (BPF_PROG_TEST_RUN, JIT-compiled as when attached) a million times on
one frame, in a network namespace made for the purpose, and the kernel's mean time per run is
reported beside a program that only returns (the test-run overhead and the floor).

Used by agent_dataplane.py for its "where the limit is" section; the programs are the ones the
agent compiles from the same configs as the data-plane rows."""

import ipaddress
import statistics
import struct

import clone_redirect  # noqa: E402
import common  # noqa: E402,F401 - puts the agent package on sys.path
from traffic_mirror_agent import bpf  # noqa: E402
from traffic_mirror_agent import compiler  # noqa: E402
from traffic_mirror_agent import config  # noqa: E402
from traffic_mirror_agent import ebpf_path  # noqa: E402
from traffic_mirror_agent import maps  # noqa: E402
from traffic_mirror_agent import probe  # noqa: E402
from traffic_mirror_agent import syscalls  # noqa: E402

BPF_PROG_TEST_RUN = 10
RUNS = 1000000
ROUNDS = 5
# a placeholder device index: the frames measured here are ones no rule copies
NO_DEVICE = 0x7FFFFFF0


def frame(protocol, source, destination, source_port, destination_port, payload=64):
    """An Ethernet + IPv4 + UDP/TCP frame as the mirrored interface sees it."""
    if protocol == 17:
        l4 = struct.pack("!HHHH", source_port, destination_port, 8 + payload, 0)
    else:  # a bare TCP ACK
        l4 = struct.pack("!HHIIBBHHH", source_port, destination_port, 1, 1, 5 << 4, 0x10, 512, 0, 0)
        payload = 0
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(l4) + payload,
        0,
        0,
        64,
        protocol,
        0,
        ipaddress.ip_address(source).packed,
        ipaddress.ip_address(destination).packed,
    )
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4 + b"\0" * payload


def test_run(fd, data, runs=RUNS):
    """The kernel's mean nanoseconds per run of program ``fd`` on ``data``, and its return value."""
    keep = syscalls.Buffers()
    _out, out_addr = keep.zeros(len(data) + 256)
    attr = bytearray(80)
    struct.pack_into("=IIIIQQI", attr, 0, fd, 0, len(data), len(data) + 256, keep.bytes_at(data), out_addr, runs)
    syscalls.bpf(BPF_PROG_TEST_RUN, attr)
    retval, duration = struct.unpack_from("=I", attr, 4)[0], struct.unpack_from("=I", attr, 36)[0]
    return duration, retval


def load_agent_program(agent_config, direction):
    cfg = config.parse_config(agent_config)
    sessions = cfg.sessions_on(cfg.interfaces()[0])
    compiled = compiler.compile_program(
        "eth0", direction, sessions, [], {session.name: NO_DEVICE for session in sessions}
    )
    map_fd = maps.create_counters(len(compiled.slots))
    fd = bpf.load_code(ebpf_path._with_map_fd(compiled.code, map_fd), "tma_cost")
    return fd, map_fd, len(compiled.code) // 8


def measure(programs, frames):
    """{(program, frame): median ns per run over ROUNDS rounds}. ``programs``: name -> fd;
    ``frames``: name -> bytes. Runs in a new network namespace (nothing can leave it)."""
    error = syscalls.unshare_netns()
    if error:
        raise RuntimeError("cannot make a network namespace for the test runs: %s" % error)
    result = {}
    for name, fd in programs.items():
        for frame_name, data in frames.items():
            result[(name, frame_name)] = statistics.median(test_run(fd, data)[0] for _ in range(ROUNDS))
    return result


def _program_costs_here(agent_configs, frames):
    fds, sizes = {"no-op (returns at once)": bpf.load_code(clone_redirect.noop_program(), "tma_noop")}, {}
    sizes["no-op (returns at once)"] = 2
    for name, (agent_config, direction) in agent_configs.items():
        fds[name], _map, sizes[name] = load_agent_program(agent_config, direction)
    costs = measure(fds, frames)
    rows = []
    for name in fds:
        rows.append(dict({"program": name, "instructions": sizes[name]}, **{f: costs[(name, f)] for f in frames}))
    return rows


def program_costs(agent_configs, frames):
    """Runs in a child process (the agent's probe.in_child: it leaves this one's namespace alone); returns rows
    [{"program", "instructions", frame name: ns, ...}] for the no-op and each agent config."""
    rows, error = probe.in_child(_program_costs_here, agent_configs, frames)
    if error is not None:
        raise RuntimeError(error)
    return rows
