"""The network-namespace lab the agent tests, the demo and the agent benchmarks share: hosts, veth
links, the mirroring agent inside a namespace, packets, captures, a kernel snapshot.

Every namespace is created here with a unique name and deleted by Lab.close()
(also when a test fails). Addresses are from 198.18.0.0/15 and 2001:db8::/32
only, and packets only travel between these namespaces. The agent tests import it as
``netlab`` (tests/agent/netlab.py is this module under its old name).
"""

import contextlib
import ctypes
import itertools
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
SO_RCVBUFFORCE = 33
ETH_P_ALL = 0x0003
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The agent package's parent directory: written here once; the tests, the benchmarks and the matrix take it from here.
AGENT_PATH = os.path.join(ROOT, "roles", "mirror_agent", "files")
AGENT_PACKAGE = os.path.join(AGENT_PATH, "traffic_mirror_agent")
# the three hosts of mirror_lab(): peer -> source (mirrors its eth0) -> collector
SOURCE, PEER, COLLECTOR = "198.18.0.1", "198.18.0.2", "198.18.1.2"
# the same hosts under the names the agent tests use (topology()), with their IPv6 addresses:
# src eth0 (SRC, SRC6) <-> peer eth0 (PEER, 2001:db8::2); src eth1 (198.18.1.1, 2001:db8:1::1) <-> col eth0
SRC = SOURCE
SRC6 = "2001:db8::1"
COLLECTOR6 = "2001:db8:1::2"


def sh(*args, check=True, input_text=None):
    proc = subprocess.run(list(args), input=input_text, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


@contextlib.contextmanager
def in_netns(name):
    """Run the body with this thread in namespace ``name`` (sockets made inside stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        yield
    finally:
        _libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)


class Lab(object):
    """A set of namespaces; ``ns(role)`` gives the real name of a role."""

    def __init__(self, datapath=None):
        self.prefix = "tmat%d-%d-" % (os.getpid() % 100000, next(_counter))
        self.names = []
        self.datapath = datapath  # the agent's data path in the configs Agent writes (None: the config's own)

    def ns(self, role):
        return self.prefix + role

    def add_host(self, role):
        name = self.ns(role)
        sh("ip", "netns", "add", name)
        self.names.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        # quiet IPv6: no router advertisements, no DAD, MLD reports right at link up
        for conf in ("all", "default"):
            self.sysctl(role, "net.ipv6.conf.%s.accept_ra" % conf, "0")
            self.sysctl(role, "net.ipv6.conf.%s.dad_transmits" % conf, "0")
            self.sysctl(role, "net.ipv6.conf.%s.mldv1_unsolicited_report_interval" % conf, "1")
            self.sysctl(role, "net.ipv6.conf.%s.mldv2_unsolicited_report_interval" % conf, "1")
        return name

    def sysctl(self, role, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        with in_netns(self.ns(role)):
            # /proc/sys/net follows the opener's network namespace
            with open(path, "w") as handle:
                handle.write(value)

    def link(self, role_a, dev_a, role_b, dev_b, offloads=False, ipv6=True):
        sh(
            "ip",
            "-n",
            self.ns(role_a),
            "link",
            "add",
            dev_a,
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            self.ns(role_b),
        )
        for role, dev in ((role_a, dev_a), (role_b, dev_b)):
            if not ipv6:
                self.sysctl(role, "net.ipv6.conf.%s.disable_ipv6" % dev, "1")
            if not offloads:
                # one copy per wire packet, with final checksums (see docs/agent.md)
                sh(
                    "ip",
                    "netns",
                    "exec",
                    self.ns(role),
                    "ethtool",
                    "-K",
                    dev,
                    "tx",
                    "off",
                    "tso",
                    "off",
                    "gso",
                    "off",
                    "gro",
                    "off",
                )
            sh("ip", "-n", self.ns(role), "link", "set", dev, "up")

    def addr(self, role, dev, *cidrs):
        for cidr in cidrs:
            extra = ["nodad"] if ":" in cidr else []
            sh("ip", "-n", self.ns(role), "addr", "add", cidr, "dev", dev, *extra)

    def route(self, role, *args):
        sh("ip", "-n", self.ns(role), "route", "add", *args)

    def run(self, role, *args, check=True, input_text=None):
        return sh("ip", "netns", "exec", self.ns(role), *args, check=check, input_text=input_text)

    def close(self):
        for name in reversed(self.names):
            sh("ip", "netns", "del", name, check=False)
        self.names = []


def mirror_lab(ipv6=True, datapath=None):
    """Namespaces peer, src and col: peer reaches src's eth0 (SOURCE), src routes to col (COLLECTOR) over
    eth1; offloads off on every veth (one copy per wire packet). The caller closes it (also on failure)."""
    lab = Lab(datapath=datapath)
    try:
        for role in ("src", "peer", "col"):
            lab.add_host(role)
        lab.link("src", "eth0", "peer", "eth0", offloads=False, ipv6=ipv6)
        lab.link("src", "eth1", "col", "eth0", offloads=False, ipv6=ipv6)
        lab.addr("src", "eth0", SOURCE + "/24")
        lab.addr("peer", "eth0", PEER + "/24")
        lab.addr("src", "eth1", "198.18.1.1/24")
        lab.addr("col", "eth0", COLLECTOR + "/24")
        lab.route("peer", "default", "via", SOURCE)
        lab.route("col", "default", "via", "198.18.1.1")
    except BaseException:
        lab.close()
        raise
    return lab


def topology(lab):
    """Source, peer and collector hosts: the agent runs on src and mirrors its eth0 (to the peer); the
    copies leave by eth1 to the collector."""
    for role in ("src", "peer", "col"):
        lab.add_host(role)
    lab.link("src", "eth0", "peer", "eth0")
    lab.link("src", "eth1", "col", "eth0")
    lab.addr("src", "eth0", SRC + "/24", SRC6 + "/64")
    lab.addr("peer", "eth0", PEER + "/24", "2001:db8::2/64")
    lab.addr("src", "eth1", "198.18.1.1/24", "2001:db8:1::1/64")
    lab.addr("col", "eth0", COLLECTOR + "/24", COLLECTOR6 + "/64")
    lab.route("peer", "default", "via", SRC)
    lab.route("col", "default", "via", "198.18.1.1")
    settle(lab, ("src", "peer", "col"))


class Agent(object):
    """The agent CLI inside a namespace, with its own state directory."""

    def __init__(self, lab, role, workdir):
        self.lab = lab
        self.role = role
        self.workdir = str(workdir)
        self.config_path = os.path.join(self.workdir, "config.json")

    def env(self):
        return dict(os.environ, PYTHONPATH=AGENT_PATH, TMA_STATE_DIR=os.path.join(self.workdir, "state"))

    def command(self, *args):
        return ["ip", "netns", "exec", self.lab.ns(self.role), sys.executable, "-m", "traffic_mirror_agent"] + list(
            args
        )

    def with_datapath(self, config):
        """``config`` with the lab's data path, unless it names one itself."""
        if self.lab.datapath and isinstance(config, dict) and "datapath" not in config:
            config = dict(config, datapath=self.lab.datapath)
        return config

    def write_config(self, config, path=None):
        path = path or self.config_path
        with open(path, "w") as handle:
            json.dump(self.with_datapath(config), handle)
        return path

    def __call__(self, *args, check=True):
        proc = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env(), check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(
                "agent %s failed (%d): %s%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr)
            )
        return proc

    def apply(self, config):
        return self("apply", "--config", self.write_config(config))

    def status(self):
        return json.loads(self("status", "--json").stdout)

    def popen(self, *args):
        log = open(os.path.join(self.workdir, "run.log"), "a")
        return subprocess.Popen(self.command(*args), stdout=log, stderr=subprocess.STDOUT, env=self.env())


PINNED_OBJECT = re.compile(r"\S+:\[\*fsobj\] ")


def named_filters(text):
    """``tc filter show`` text with each cls_bpf program shown as ``name <program name>``: iproute2 before
    5.16 (Debian 11's 5.9) prints the pin file the loader used ("tma_dp1_714:[*fsobj]", with its pid)
    and no name, so the name is read from the kernel by the program's id."""
    if AGENT_PATH not in sys.path:
        sys.path.insert(0, AGENT_PATH)
    from traffic_mirror_agent import maps

    lines = []
    for line in text.splitlines():
        if PINNED_OBJECT.search(line):
            line = PINNED_OBJECT.sub("", line)
            found = re.search(r"\bid (\d+)\b", line)
            if " name " not in line and found:
                line = line.replace(" id ", " name %s id " % maps.program_name(int(found.group(1))), 1)
        lines.append(line)
    return "\n".join(lines) + "\n"


def kernel_snapshot(lab, role):
    """Everything the agent could touch in a namespace, for before/after comparisons."""
    links = json.loads(lab.run(role, "ip", "-d", "-j", "link", "show").stdout)
    for link in links:
        for volatile in ("stats", "stats64", "operstate"):
            link.pop(volatile, None)
    filters = {}
    for link in links:
        for direction in ("ingress", "egress"):
            shown = lab.run(role, "tc", "filter", "show", "dev", link["ifname"], direction, check=False).stdout
            if shown.strip():
                filters["%s %s" % (link["ifname"], direction)] = named_filters(shown)
    return {
        "nft": lab.run(role, "nft", "list", "ruleset").stdout,
        "links": links,
        "qdiscs": lab.run(role, "tc", "qdisc", "show").stdout,
        "filters": filters,  # with the eBPF programs' ids: a program swapped in shows here
    }


# ------------------------------------------------------------------ packets


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src, dst, protocol, payload_length, ident=1, ttl=64, options=b"", fragment_offset=0):
    ihl = 5 + len(options) // 4
    header = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            0,
            ihl * 4 + payload_length,
            ident,
            fragment_offset & 0x1FFF,
            ttl,
            protocol,
            0,
            src.packed,
            dst.packed,
        )
        + options
    )
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def l4_segment(src, dst, protocol, sport, dport, payload, icmp_type=8):
    if protocol == 6:
        header = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        segment = header + payload
    elif protocol == 17:
        segment = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    elif protocol in (1, 58):
        segment = struct.pack("!BBHHH", icmp_type, 0, 0, 1, 1) + payload
    else:
        return payload
    if src.version == 4:
        pseudo = struct.pack("!4s4sBBH", src.packed, dst.packed, 0, protocol, len(segment))
    else:
        pseudo = struct.pack("!16s16sI3xB", src.packed, dst.packed, len(segment), protocol)
    offset = {6: 16, 17: 6, 1: 2, 58: 2}[protocol]
    if protocol == 1:
        pseudo = b""
    value = checksum(pseudo + segment)
    if protocol == 17 and value == 0:
        value = 0xFFFF
    return segment[:offset] + struct.pack("!H", value) + segment[offset + 2 :]


def frame(dst_mac, src_mac, src, dst, protocol, sport=None, dport=None, payload=b"", icmp_type=8, variant=None):
    """An Ethernet frame with an IPv4/IPv6 packet (addresses are ipaddress objects).

    ``variant``: None; "options" (IPv4 options / an IPv6 hop-by-hop header before
    the transport header); "fragment" (a non-first fragment: no transport header)."""
    segment = l4_segment(src, dst, protocol, sport, dport, payload, icmp_type)
    if src.version == 4:
        options = b"\x01\x01\x01\x00" if variant == "options" else b""
        offset = 185 if variant == "fragment" else 0
        packet = ipv4_header(src, dst, protocol, len(segment), options=options, fragment_offset=offset) + segment
        ethertype = 0x0800
    else:
        if variant == "options":
            extension, next_header = struct.pack("!BB6x", protocol, 0), 0  # hop-by-hop, PadN-free padding
        elif variant == "fragment":
            extension, next_header = struct.pack("!BBHI", protocol, 0, 185 << 3, 7), 44
        else:
            extension, next_header = b"", protocol
        body = extension + segment
        packet = struct.pack("!IHBB16s16s", 6 << 28, len(body), next_header, 64, src.packed, dst.packed) + body
        ethertype = 0x86DD
    return dst_mac + src_mac + struct.pack("!H", ethertype) + packet


def mac_of(lab, role, dev):
    data = json.loads(lab.run(role, "ip", "-j", "link", "show", dev).stdout)
    return bytes.fromhex(data[0]["address"].replace(":", ""))


def raw_socket(lab, role, dev):
    with in_netns(lab.ns(role)):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((dev, 0))
    return sock


class Capture(object):
    """An AF_PACKET socket on one interface in one namespace: every frame, both directions."""

    def __init__(self, lab, role, dev):
        self.sock = raw_socket(lab, role, dev)
        # FORCE: past net.core.rmem_max (212 KiB on a stock Debian guest, which held only the first ~300
        # frames of a burst read after it); root may
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 * 1024 * 1024)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024 * 1024)
        self.sock.settimeout(0.05)
        self.frames = []  # (pkt_type, bytes)

    def drain(self, duration=0.3, max_frames=1000000):
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline and len(self.frames) < max_frames:
            try:
                data, address = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.frames.append((address[2], data))
        return self.frames

    def close(self):
        self.sock.close()


def drain_all(captures, quiet=0.3, limit=5.0):
    """Read all captures until none got a frame for ``quiet`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() < deadline:
        before = sum(len(c.frames) for c in captures)
        for capture in captures:
            capture.drain(0.02)
        if sum(len(c.frames) for c in captures) != before:
            last = time.monotonic()
    return [c.frames for c in captures]


def settle(lab, roles, seconds=0.3):
    """Wait until no address is tentative and the link-up chatter (MLD) is over."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if not any("tentative" in lab.run(role, "ip", "-6", "addr").stdout for role in roles):
            break
        time.sleep(0.05)
    time.sleep(seconds)


def parse_vxlan(data, port=4789):
    """(vni, inner frame, outer source port, outer IP total length, more-fragments) of a VXLAN frame, or None."""
    if len(data) < 14 + 20 + 8 + 8:
        return None
    ethertype = struct.unpack("!H", data[12:14])[0]
    if ethertype == 0x0800:
        ihl = (data[14] & 0x0F) * 4
        if data[14 + 9] != 17:
            return None
        total = struct.unpack("!H", data[16:18])[0]
        frag = struct.unpack("!H", data[20:22])[0]
        udp = data[14 + ihl :]
        if (frag & 0x1FFF) != 0:
            return ("fragment", None, None, total, True)
        more = bool(frag & 0x2000)
    elif ethertype == 0x86DD:
        if data[14 + 6] != 17:
            return None
        total = 40 + struct.unpack("!H", data[18:20])[0]
        udp = data[14 + 40 :]
        more = False
    else:
        return None
    sport, dport, length = struct.unpack("!HHH", udp[:6])
    if dport != port:
        return None
    flags, vni_field = struct.unpack("!II", udp[8:16])
    return (vni_field >> 8, udp[16:], sport, total, more)


def udp_copies(lab, payload, port, count):
    """Send ``count`` UDP datagrams of ``payload`` from the peer to src:``port``; (VNI, inner frame) of each
    copy of them the collector got."""
    collector = Capture(lab, "col", "eth0")
    try:
        with in_netns(lab.ns("peer")):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _copy in range(count):
                sock.sendto(payload, (SRC, port))
        finally:
            sock.close()
        (frames,) = drain_all([collector], quiet=0.2)
    finally:
        collector.close()
    found = []
    for _pkt_type, data in frames:
        parsed = parse_vxlan(data)
        if parsed and parsed[1] and payload[:10] in parsed[1]:
            found.append(parsed[:2])
    return found


def nft_without_egress_hook(directory):
    """A PATH directory whose ``nft`` refuses every ruleset with a netdev egress hook (as on Linux < 5.16)
    and passes everything else to the real nft; returns the PATH to use."""
    real = shutil.which("nft")
    fake = os.path.join(directory, "nft")
    with open(fake, "w") as handle:
        handle.write(
            "#!/bin/sh\n"
            "case \" $* \" in *' -f '*) input=$(cat)\n"
            "  case \"$input\" in *'hook egress'*)\n"
            "    echo 'Error: Could not process rule: Operation not supported' >&2; exit 1;; esac\n"
            '  printf \'%%s\\n\' "$input" | exec %s "$@";;\n'
            "esac\n"
            'exec %s "$@"\n' % (real, real)
        )
    os.chmod(fake, 0o755)
    return "%s:%s" % (directory, os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
