# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Traffic-mirror filter rules: model and validation (AWS's semantics stated below).

One module serves both the Ansible modules (as module_utils) and the software
mirroring agent (roles/mirror_agent/files/traffic_mirror_agent/rules.py is a
symlink to this file). Stdlib only, Python >= 3.8, no relative imports.

Rules use AWS's fields in snake_case, the shape the filter module takes and the
filter _info module returns::

    {"rule_number": 100, "rule_action": "accept", "protocol": 6,
     "source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "10.0.0.0/8",
     "source_port_range": {"from_port": 1024, "to_port": 65535},
     "destination_port_range": {"from_port": 443, "to_port": 443},
     "description": "https"}

Every problem raises :class:`RuleError` with a message naming where it is::

    session 'web': egress rule 100: destination_port_range: from_port 90 > to_port 80
        (allowed: 0-65535, from_port <= to_port)      [one line]
    egress_rules[2] (rule 100): destination_port_range: ...

Semantics (AWS's; the tests' plain-Python evaluator, tests/agent/reference.py, states them as
code and is not shipped): rules are per direction; they are evaluated in ascending
rule number; the first rule that matches decides (accept = mirror, reject =
do not mirror); no match = not mirrored. A rule matches a packet when the
packet's IP family is the rules' family, source and destination addresses are
inside the CIDR blocks, the protocol (if given) is the packet's transport
protocol (after IPv6 extension headers), and the port ranges (if given, TCP
and UDP only) contain the packet's ports. A packet without ports (a non-first
fragment) never matches a rule with a port range.

Across sessions on one interface (agent semantics, see docs/agent.md):
sessions are evaluated in ascending session number; a packet is mirrored at
most once, by the first session whose filter *accepts* it. A reject in a
lower session only means "not by this session": higher sessions still get to
evaluate the packet.
"""

from __future__ import annotations

import ipaddress
import re
from collections import namedtuple

DEFAULT_MAX_RULES_PER_DIRECTION = 10
RULE_NUMBER_RANGE = (1, 32766)
PORT_RANGE = (0, 65535)
PROTOCOL_RANGE = (0, 255)
DESCRIPTION_MAX_LENGTH = 255
DIRECTIONS = ("ingress", "egress")
RULE_ACTIONS = ("accept", "reject")
NETWORK_SERVICES = ("amazon-dns",)

# AWS's limits for a session, in one place: the modules (tm_params.py), the agent (config.py) and the
# mirror_collector role (through the netmirror.traffic_mirror.mirror_limits lookup) check against these. The
# offline endpoint keeps its own copy (tools/offline_ec2/validation.py) on purpose, as an independent check.
SESSION_NUMBER_RANGE = (1, 32766)
PACKET_LENGTH_RANGE = (1, 8500)
VIRTUAL_NETWORK_ID_RANGE = (0, 16777215)  # the 24-bit VXLAN network identifier

PROTOCOL_NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58}
# Spellings of "all protocols" (AWS: protocol omitted).
ALL_PROTOCOLS = ("all", "-1", "any")
PORT_PROTOCOLS = (6, 17)

RULE_FIELDS = (
    "rule_number",
    "rule_action",
    "protocol",
    "source_cidr_block",
    "destination_cidr_block",
    "source_port_range",
    "destination_port_range",
    "description",
)
# Keys the filter _info module returns besides the rule itself; ignored here.
IGNORED_RULE_KEYS = (
    "traffic_mirror_filter_rule_id",
    "traffic_mirror_filter_id",
    "traffic_direction",
    "rule_direction",
)
FILTER_FIELDS = ("ingress_rules", "egress_rules", "network_services")


class RuleError(ValueError):
    """A rule, filter or session is invalid; the message says where and why."""


PortRange = namedtuple("PortRange", ["from_port", "to_port"])


class FilterRule(object):
    """One validated filter rule. Immutable by convention; compares by value."""

    __slots__ = (
        "direction",
        "rule_number",
        "rule_action",
        "protocol",
        "source_cidr_block",
        "destination_cidr_block",
        "source_port_range",
        "destination_port_range",
        "description",
    )

    def __init__(
        self,
        direction,
        rule_number,
        rule_action,
        protocol,
        source_cidr_block,
        destination_cidr_block,
        source_port_range=None,
        destination_port_range=None,
        description=None,
    ):
        self.direction = direction
        self.rule_number = rule_number
        self.rule_action = rule_action
        self.protocol = protocol
        self.source_cidr_block = source_cidr_block
        self.destination_cidr_block = destination_cidr_block
        self.source_port_range = source_port_range
        self.destination_port_range = destination_port_range
        self.description = description

    def _key(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        return isinstance(other, FilterRule) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "FilterRule(%s)" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__)

    @property
    def family(self):
        """4 or 6: the IP version of both CIDR blocks."""
        return self.source_cidr_block.version

    @property
    def accept(self):
        return self.rule_action == "accept"

    def to_dict(self):
        """The snake_case dict (the module's shape); optional fields only when set."""
        result = {
            "rule_number": self.rule_number,
            "rule_action": self.rule_action,
            "source_cidr_block": str(self.source_cidr_block),
            "destination_cidr_block": str(self.destination_cidr_block),
        }
        if self.protocol is not None:
            result["protocol"] = self.protocol
        for name in ("source_port_range", "destination_port_range"):
            value = getattr(self, name)
            if value is not None:
                result[name] = {"from_port": value.from_port, "to_port": value.to_port}
        if self.description is not None:
            result["description"] = self.description
        return result


class MirrorFilter(object):
    """A validated filter: ingress and egress rules (sorted by rule number) and network services."""

    __slots__ = ("ingress_rules", "egress_rules", "network_services")

    def __init__(self, ingress_rules=(), egress_rules=(), network_services=()):
        self.ingress_rules = tuple(sorted(ingress_rules, key=lambda r: r.rule_number))
        self.egress_rules = tuple(sorted(egress_rules, key=lambda r: r.rule_number))
        self.network_services = tuple(sorted(set(network_services)))

    def rules(self, direction):
        if direction == "ingress":
            return self.ingress_rules
        if direction == "egress":
            return self.egress_rules
        raise ValueError("direction must be ingress or egress, not %r" % (direction,))

    def __eq__(self, other):
        return isinstance(other, MirrorFilter) and (
            self.ingress_rules,
            self.egress_rules,
            self.network_services,
        ) == (other.ingress_rules, other.egress_rules, other.network_services)

    def __hash__(self):
        return hash((self.ingress_rules, self.egress_rules, self.network_services))

    def __repr__(self):
        return "MirrorFilter(ingress_rules=%r, egress_rules=%r, network_services=%r)" % (
            self.ingress_rules,
            self.egress_rules,
            self.network_services,
        )

    def to_dict(self):
        return {
            "ingress_rules": [r.to_dict() for r in self.ingress_rules],
            "egress_rules": [r.to_dict() for r in self.egress_rules],
            "network_services": list(self.network_services),
        }


# ---------------------------------------------------------------- validation


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _to_int(value):
    """An int from an int or a decimal string (Ansible passes strings); None if neither."""
    if _is_int(value):
        return value
    if isinstance(value, str) and re.match(r"^-?[0-9]+$", value.strip()):
        return int(value.strip())
    return None


def normalize_protocol(value):
    """IANA protocol number (int) or None for "all protocols".

    Accepts an int 0-255, a decimal string, a name (tcp, udp, icmp, icmpv6) or
    an "all" spelling (None, "all", "-1", -1). Raises RuleError otherwise.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ALL_PROTOCOLS:
            return None
        if text in PROTOCOL_NAMES:
            return PROTOCOL_NAMES[text]
    number = _to_int(value)
    if number == -1:
        return None
    if number is None or not PROTOCOL_RANGE[0] <= number <= PROTOCOL_RANGE[1]:
        raise RuleError(
            "%r is not a protocol (allowed: IANA number %d-%d, tcp, udp, icmp, icmpv6, or omitted for all)"
            % (value, PROTOCOL_RANGE[0], PROTOCOL_RANGE[1])
        )
    return number


def _field_error(where, field, message):
    return RuleError("%s: %s: %s" % (where, field, message))


def _parse_cidr(where, field, value):
    if not isinstance(value, str) or not value.strip():
        raise _field_error(
            where, field, "%r is not a CIDR block (required, e.g. 10.0.0.0/8 or 2001:db8::/32)" % (value,)
        )
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise _field_error(
            where, field, "%r is not a CIDR block (e.g. 10.0.0.0/8 or 2001:db8::/32)" % (value,)
        ) from None


def _parse_port_range(where, field, value):
    if value is None:
        return None
    allowed = "(allowed: %d-%d, from_port <= to_port)" % PORT_RANGE
    if not isinstance(value, dict):
        raise _field_error(where, field, "%r is not a port range {from_port, to_port} %s" % (value, allowed))
    unknown = sorted(set(value) - {"from_port", "to_port"})
    if unknown:
        raise _field_error(where, field, "unknown key(s) %s (allowed: from_port, to_port)" % ", ".join(unknown))
    raw_from, raw_to = value.get("from_port"), value.get("to_port")
    if raw_from is None and raw_to is None:
        raise _field_error(where, field, "needs from_port and/or to_port %s" % allowed)
    if raw_from is None:
        raw_from = raw_to
    if raw_to is None:
        raw_to = raw_from
    ports = []
    for name, raw in (("from_port", raw_from), ("to_port", raw_to)):
        port = _to_int(raw)
        if port is None or not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
            raise _field_error(where, field, "%s %r is not a port %s" % (name, raw, allowed))
        ports.append(port)
    if ports[0] > ports[1]:
        raise _field_error(where, field, "from_port %d > to_port %d %s" % (ports[0], ports[1], allowed))
    return PortRange(ports[0], ports[1])


def _rule_where(direction, index, rule_number, session):
    if session is not None:
        if rule_number is not None:
            return "session %r: %s rule %d" % (session, direction, rule_number)
        return "session %r: %s_rules[%d]" % (session, direction, index)
    if rule_number is not None:
        return "%s_rules[%d] (rule %d)" % (direction, index, rule_number)
    return "%s_rules[%d]" % (direction, index)


def parse_rule(data, direction, index=0, session=None):
    """Validate one rule dict and return a :class:`FilterRule`.

    ``direction`` is "ingress" or "egress"; ``index`` its position in the list
    and ``session`` the session name (or None), both only for messages.
    """
    if direction not in DIRECTIONS:
        raise ValueError("direction must be ingress or egress, not %r" % (direction,))
    where = _rule_where(direction, index, None, session)
    if not isinstance(data, dict):
        raise RuleError("%s: %r is not a rule (a mapping with rule_number, rule_action, ...)" % (where, data))
    raw_number = data.get("rule_number")
    number = _to_int(raw_number)
    if number is None or not RULE_NUMBER_RANGE[0] <= number <= RULE_NUMBER_RANGE[1]:
        raise _field_error(
            where,
            "rule_number",
            "%r is not a rule number (required; allowed: %d-%d)" % ((raw_number,) + RULE_NUMBER_RANGE),
        )
    where = _rule_where(direction, index, number, session)
    unknown = sorted(set(data) - set(RULE_FIELDS) - set(IGNORED_RULE_KEYS))
    if unknown:
        raise RuleError("%s: unknown field(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(RULE_FIELDS)))
    action = data.get("rule_action")
    if not isinstance(action, str) or action.strip().lower() not in RULE_ACTIONS:
        raise _field_error(where, "rule_action", "%r is not an action (required; allowed: accept, reject)" % (action,))
    action = action.strip().lower()
    try:
        protocol = normalize_protocol(data.get("protocol"))
    except RuleError as exc:
        raise _field_error(where, "protocol", str(exc)) from None
    source = _parse_cidr(where, "source_cidr_block", data.get("source_cidr_block"))
    destination = _parse_cidr(where, "destination_cidr_block", data.get("destination_cidr_block"))
    if source.version != destination.version:
        raise _field_error(
            where,
            "destination_cidr_block",
            "%s is IPv%d but source_cidr_block %s is IPv%d (both must be IPv4 or both IPv6)"
            % (destination, destination.version, source, source.version),
        )
    source_ports = _parse_port_range(where, "source_port_range", data.get("source_port_range"))
    destination_ports = _parse_port_range(where, "destination_port_range", data.get("destination_port_range"))
    for field, value in (("source_port_range", source_ports), ("destination_port_range", destination_ports)):
        if value is not None and protocol not in PORT_PROTOCOLS:
            raise _field_error(
                where,
                field,
                "port ranges need protocol 6 (tcp) or 17 (udp), not %s"
                % ("all protocols" if protocol is None else protocol),
            )
    description = data.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise _field_error(where, "description", "%r is not a string" % (description,))
        if len(description) > DESCRIPTION_MAX_LENGTH:
            raise _field_error(
                where, "description", "%d characters (allowed: at most %d)" % (len(description), DESCRIPTION_MAX_LENGTH)
            )
    return FilterRule(
        direction, number, action, protocol, source, destination, source_ports, destination_ports, description
    )


def parse_rules(rules, direction, session=None, max_rules=DEFAULT_MAX_RULES_PER_DIRECTION):
    """Validate a list of rule dicts of one direction; returns rules sorted by number."""
    field = "%s_rules" % direction
    prefix = "session %r: " % session if session is not None else ""
    if rules is None:
        rules = []
    if not isinstance(rules, (list, tuple)):
        raise RuleError("%s%s: %r is not a list of rules" % (prefix, field, rules))
    if max_rules is not None and len(rules) > max_rules:
        raise RuleError("%s%s: %d rules (allowed: at most %d per direction)" % (prefix, field, len(rules), max_rules))
    parsed = []
    seen = {}
    for index, data in enumerate(rules):
        rule = parse_rule(data, direction, index, session)
        if rule.rule_number in seen:
            raise _field_error(
                _rule_where(direction, index, rule.rule_number, session),
                "rule_number",
                "%d is used twice in %s (also %s[%d]; rule numbers are unique per direction)"
                % (rule.rule_number, field, field, seen[rule.rule_number]),
            )
        seen[rule.rule_number] = index
        parsed.append(rule)
    return tuple(sorted(parsed, key=lambda r: r.rule_number))


def parse_network_services(services, session=None):
    prefix = "session %r: " % session if session is not None else ""
    if services is None:
        return ()
    if not isinstance(services, (list, tuple)):
        raise RuleError(
            "%snetwork_services: %r is not a list (allowed values: %s)"
            % (prefix, services, ", ".join(NETWORK_SERVICES))
        )
    for index, service in enumerate(services):
        if service not in NETWORK_SERVICES:
            raise RuleError(
                "%snetwork_services[%d]: %r is not a network service (allowed: %s)"
                % (prefix, index, service, ", ".join(NETWORK_SERVICES))
            )
    return tuple(sorted(set(services)))


def parse_filter(data, session=None, max_rules_per_direction=DEFAULT_MAX_RULES_PER_DIRECTION):
    """Validate a filter {ingress_rules, egress_rules, network_services}; returns a :class:`MirrorFilter`.

    Without ``session`` messages start with the list position, e.g.
    ``egress_rules[2] (rule 100): ...`` (for the Ansible filter module).
    """
    prefix = "session %r: " % session if session is not None else ""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RuleError("%sfilter: %r is not a mapping (keys: %s)" % (prefix, data, ", ".join(FILTER_FIELDS)))
    unknown = sorted(set(data) - set(FILTER_FIELDS))
    if unknown:
        raise RuleError(
            "%sfilter: unknown key(s) %s (allowed: %s)" % (prefix, ", ".join(unknown), ", ".join(FILTER_FIELDS))
        )
    ingress = parse_rules(data.get("ingress_rules"), "ingress", session, max_rules_per_direction)
    egress = parse_rules(data.get("egress_rules"), "egress", session, max_rules_per_direction)
    services = parse_network_services(data.get("network_services"), session)
    return MirrorFilter(ingress, egress, services)
