"""The vxlan devices the agent creates, and the one definition of how one is set up
(render prints these steps, apply runs them)."""

import hashlib

from .config import DEVICE_PREFIX

ALIAS_PREFIX = "traffic_mirror_agent"


def short_hash(text, length=10):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def sysctl_path(device):
    return "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % device


class Device(object):
    """A vxlan device the agent creates for one or more sessions."""

    __slots__ = ("name", "vni", "address", "port", "copy_length", "copy_limit", "sessions")

    def __init__(self, vni, address, port, copy_length, copy_limit=None):
        self.vni = vni
        self.address = address
        self.port = port
        self.copy_length = copy_length
        # the most bytes a copy may keep when the kernel refuses to trim to copy_length (bpf.limit_for)
        self.copy_limit = copy_limit
        self.sessions = []
        # The kernel allows one vxlan device per (VNI, port, address family): that
        # is the device's identity; target and copy length can change in place.
        spec = "%d/%d/ipv%d" % (vni, port, address.version)
        self.name = DEVICE_PREFIX + short_hash(spec, 10)

    @property
    def alias(self):
        return "%s vni=%d target=%s:%d length=%s" % (
            ALIAS_PREFIX,
            self.vni,
            self.address,
            self.port,
            self.copy_length or "full",
        )

    def create_args(self):
        """``ip link add`` arguments (nolearning: the device only sends copies)."""
        return [
            "link",
            "add",
            self.name,
            "type",
            "vxlan",
            "id",
            str(self.vni),
            "remote",
            str(self.address),
            "dstport",
            str(self.port),
            "nolearning",
        ]

    def setup_steps(self):
        """How a new device is set up, in order: ("ip", args), ("sysctl", path, value)
        and ("truncate", length). IPv6 off and ARP off: the device must send
        nothing of its own (no ND/MLD, no ARP) to the target."""
        steps = [
            ("ip", self.create_args()),
            ("ip", ["link", "set", "dev", self.name, "alias", self.alias]),
            ("sysctl", sysctl_path(self.name), "1"),
            ("ip", ["link", "set", "dev", self.name, "arp", "off", "up"]),
        ]
        if self.copy_length:
            steps.append(("truncate", self.copy_length, self.copy_limit))
        return steps

    def to_dict(self):
        return {
            "name": self.name,
            "vni": self.vni,
            "target": str(self.address),
            "port": self.port,
            "copy_length": self.copy_length,
            "copy_limit": self.copy_limit,
            "sessions": list(self.sessions),
        }


def describe_step(device, step):
    """A shell-like line for one set-up step (render)."""
    if step[0] == "ip":
        args = list(step[1])
        if args[:2] == ["link", "set"] and "alias" in args:
            return "ip link set dev %s alias %r" % (device.name, device.alias)
        return "ip %s" % " ".join(args)
    if step[0] == "sysctl":
        return "sysctl -w net.ipv6.conf.%s.disable_ipv6=%s" % (device.name, step[2])
    return "tc qdisc add dev %s clsact; tc filter add dev %s egress bpf da object-pinned <truncate to %d bytes>" % (
        device.name,
        device.name,
        step[1],
    )
