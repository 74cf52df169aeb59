"""Agent configuration: sessions and targets, parsed and validated.

The filter rules are validated by the shared rule model (rules.py, a symlink
to plugins/module_utils/mirror_rules.py). Everything here is pure: no kernel
access. Checks that need the host (interface exists, target reachable) live
in host.py.
"""

import ipaddress
import json
import re

from .rules import DEFAULT_MAX_RULES_PER_DIRECTION
from .rules import PACKET_LENGTH_RANGE
from .rules import SESSION_NUMBER_RANGE
from .rules import VIRTUAL_NETWORK_ID_RANGE as VNI_RANGE
from .rules import RuleError
from .rules import parse_filter

DEFAULT_TARGET_PORT = 4789
DEFAULT_MAX_SESSIONS_PER_INTERFACE = 3  # as AWS
# Names of the kernel objects the agent creates start with this; users may not
# mirror such an interface.
DEVICE_PREFIX = "tma"
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")

SESSION_KEYS = (
    "name",
    "network_interface",
    "session_number",
    "virtual_network_id",
    "packet_length",
    "target",
    "filter",
    "description",
)
TOP_KEYS = ("sessions", "max_sessions_per_interface", "max_rules_per_direction", "datapath")
# auto: eBPF where the kernel accepts the program, else nftables (see datapath.py)
DATAPATHS = ("auto", "ebpf", "nftables")

ConfigError = RuleError  # one exception type for every validation problem


class Target(object):
    __slots__ = ("address", "port")

    def __init__(self, address, port=DEFAULT_TARGET_PORT):
        self.address = address
        self.port = port

    def __eq__(self, other):
        return isinstance(other, Target) and (self.address, self.port) == (other.address, other.port)

    def __hash__(self):
        return hash((self.address, self.port))

    def __repr__(self):
        return "Target(%s, %d)" % (self.address, self.port)

    def to_dict(self):
        return {"address": str(self.address), "port": self.port}


class Session(object):
    __slots__ = SESSION_KEYS  # a session holds exactly the keys its config entry may have

    def __init__(
        self,
        name,
        network_interface,
        session_number,
        virtual_network_id,
        packet_length,
        target,
        mirror_filter,
        description=None,
    ):
        self.name = name
        self.network_interface = network_interface
        self.session_number = session_number
        self.virtual_network_id = virtual_network_id
        self.packet_length = packet_length
        self.target = target
        self.filter = mirror_filter
        self.description = description

    def __repr__(self):
        return "Session(%r, %s #%d vni %d -> %r)" % (
            self.name,
            self.network_interface,
            self.session_number,
            self.virtual_network_id,
            self.target,
        )

    def to_dict(self):
        result = {
            "name": self.name,
            "network_interface": self.network_interface,
            "session_number": self.session_number,
            "virtual_network_id": self.virtual_network_id,
            "target": self.target.to_dict(),
            "filter": self.filter.to_dict(),
        }
        if self.packet_length is not None:
            result["packet_length"] = self.packet_length
        if self.description is not None:
            result["description"] = self.description
        return result


class Config(object):
    __slots__ = ("sessions", "max_sessions_per_interface", "max_rules_per_direction", "datapath")

    def __init__(
        self,
        sessions,
        max_sessions_per_interface=DEFAULT_MAX_SESSIONS_PER_INTERFACE,
        max_rules_per_direction=DEFAULT_MAX_RULES_PER_DIRECTION,
        datapath="auto",
    ):
        self.datapath = datapath
        self.sessions = tuple(sorted(sessions, key=lambda s: (s.network_interface, s.session_number)))
        self.max_sessions_per_interface = max_sessions_per_interface
        self.max_rules_per_direction = max_rules_per_direction

    def interfaces(self):
        return sorted({s.network_interface for s in self.sessions})

    def sessions_on(self, interface):
        return [s for s in self.sessions if s.network_interface == interface]

    def only_interfaces(self, present):
        """The same config limited to the sessions whose interface is in ``present``."""
        return Config(
            [s for s in self.sessions if s.network_interface in present],
            self.max_sessions_per_interface,
            self.max_rules_per_direction,
            self.datapath,
        )

    def to_dict(self):
        return {
            "sessions": [s.to_dict() for s in self.sessions],
            "max_sessions_per_interface": self.max_sessions_per_interface,
            "max_rules_per_direction": self.max_rules_per_direction,
            "datapath": self.datapath,
        }


def _int_field(where, field, value, low, high, required=True):
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.match(r"^[0-9]+$", value.strip()):
            value = int(value)
        else:
            raise ConfigError(
                "%s: %s: %r is not an integer (%sallowed: %d-%d)"
                % (where, field, value, "required; " if required else "", low, high)
            )
    if not low <= value <= high:
        raise ConfigError("%s: %s: %d is out of range (allowed: %d-%d)" % (where, field, value, low, high))
    return value


def parse_target(where, data):
    if not isinstance(data, dict):
        raise ConfigError("%s: target: %r is not a mapping {address, port}" % (where, data))
    unknown = sorted(set(data) - {"address", "port"})
    if unknown:
        raise ConfigError("%s: target: unknown key(s) %s (allowed: address, port)" % (where, ", ".join(unknown)))
    raw = data.get("address")
    try:
        address = ipaddress.ip_address(str(raw).strip()) if raw is not None else None
    except ValueError:
        address = None
    if address is None:
        raise ConfigError("%s: target.address: %r is not an IPv4 or IPv6 address (required)" % (where, raw))
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        raise ConfigError("%s: target.address: %s is not a unicast address of another host" % (where, address))
    port = _int_field(where, "target.port", data.get("port", DEFAULT_TARGET_PORT), 1, 65535)
    return Target(address, port)


def parse_session(data, index, max_rules_per_direction=DEFAULT_MAX_RULES_PER_DIRECTION):
    where = "sessions[%d]" % index
    if not isinstance(data, dict):
        raise ConfigError("%s: %r is not a session mapping" % (where, data))
    name = data.get("name")
    if not isinstance(name, str) or not SESSION_NAME_RE.match(name):
        raise ConfigError(
            "%s: name: %r is not a session name "
            "(required; 1-64 of A-Z a-z 0-9 _ . : -, starting with a letter or digit)" % (where, name)
        )
    where = "session %r" % name
    unknown = sorted(set(data) - set(SESSION_KEYS))
    if unknown:
        raise ConfigError("%s: unknown key(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(SESSION_KEYS)))
    interface = data.get("network_interface")
    if not isinstance(interface, str) or not IFNAME_RE.match(interface) or interface in (".", ".."):
        raise ConfigError(
            "%s: network_interface: %r is not an interface name (required; 1-15 of A-Z a-z 0-9 _ . @ -)"
            % (where, interface)
        )
    if interface.startswith(DEVICE_PREFIX):
        raise ConfigError(
            "%s: network_interface: %r starts with %r, "
            "the prefix of the agent's own devices (mirroring them would loop)" % (where, interface, DEVICE_PREFIX)
        )
    number = _int_field(where, "session_number", data.get("session_number"), *SESSION_NUMBER_RANGE)
    vni = _int_field(where, "virtual_network_id", data.get("virtual_network_id"), *VNI_RANGE)
    packet_length = _int_field(where, "packet_length", data.get("packet_length"), *PACKET_LENGTH_RANGE, required=False)
    if "target" not in data:
        raise ConfigError("%s: target: required ({address, port})" % where)
    target = parse_target(where, data["target"])
    mirror_filter = parse_filter(data.get("filter"), session=name, max_rules_per_direction=max_rules_per_direction)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError("%s: description: %r is not a string" % (where, description))
    return Session(name, interface, number, vni, packet_length, target, mirror_filter, description)


def parse_config(data):
    """Validate a config mapping; returns a :class:`Config` or raises ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError("config: %r is not a mapping with 'sessions'" % (data,))
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ConfigError("config: unknown key(s) %s (allowed: %s)" % (", ".join(unknown), ", ".join(TOP_KEYS)))
    max_sessions = _int_field(
        "config",
        "max_sessions_per_interface",
        data.get("max_sessions_per_interface", DEFAULT_MAX_SESSIONS_PER_INTERFACE),
        1,
        1000,
    )
    max_rules = _int_field(
        "config",
        "max_rules_per_direction",
        data.get("max_rules_per_direction", DEFAULT_MAX_RULES_PER_DIRECTION),
        1,
        1000,
    )
    datapath = data.get("datapath", "auto")
    if datapath not in DATAPATHS:
        raise ConfigError("config: datapath: %r is not allowed (allowed: %s)" % (datapath, ", ".join(DATAPATHS)))
    raw_sessions = data.get("sessions", [])
    if not isinstance(raw_sessions, list):
        raise ConfigError("config: sessions: %r is not a list" % (raw_sessions,))
    sessions = [parse_session(s, i, max_rules) for i, s in enumerate(raw_sessions)]
    by_name = {}
    by_number = {}
    per_interface = {}
    by_vni = {}
    for session in sessions:
        if session.name in by_name:
            raise ConfigError("session %r: name: used twice (session names are unique)" % session.name)
        by_name[session.name] = session
        key = (session.network_interface, session.session_number)
        if key in by_number:
            raise ConfigError(
                "session %r: session_number: %d is already used by session %r on %s "
                "(session numbers are unique per interface)"
                % (session.name, session.session_number, by_number[key].name, session.network_interface)
            )
        by_number[key] = session
        per_interface.setdefault(session.network_interface, []).append(session)
        if len(per_interface[session.network_interface]) > max_sessions:
            raise ConfigError(
                "session %r: network_interface: %s has %d sessions "
                "(allowed: at most %d; raise max_sessions_per_interface for more)"
                % (session.name, session.network_interface, len(per_interface[session.network_interface]), max_sessions)
            )
        # One vxlan device per (VNI, port, family) is all the kernel allows: sessions
        # sharing one must agree on what the device does.
        vni_key = (session.virtual_network_id, session.target.port, session.target.address.version)
        other = by_vni.get(vni_key)
        if other is not None and other.target.address != session.target.address:
            raise ConfigError(
                "session %r: virtual_network_id: %d to %s is already used by session %r to %s; "
                "the Linux vxlan driver allows one remote per VNI and port (use another VNI or the same target)"
                % (session.name, session.virtual_network_id, session.target.address, other.name, other.target.address)
            )
        if other is not None and other.packet_length != session.packet_length:
            raise ConfigError(
                "session %r: packet_length: %s differs from session %r (%s), which uses the same VNI %d and target; "
                "sessions sharing a VNI and target share one vxlan device and its copy length (use another VNI)"
                % (
                    session.name,
                    session.packet_length or "whole packet",
                    other.name,
                    other.packet_length or "whole packet",
                    session.virtual_network_id,
                )
            )
        by_vni.setdefault(vni_key, session)
    return Config(sessions, max_sessions, max_rules, datapath)


def load_config(path):
    """Read and validate a JSON config file."""
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError("config %s: cannot read: %s" % (path, exc.strerror or exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError("config %s: not valid JSON: %s" % (path, exc)) from None
    return parse_config(data)
