"""Parameter checks AWS performs server-side (botocore has no min/max for them)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from .errors import invalid_value, missing_parameter

SESSION_NUMBER_RANGE = (1, 32766)
PACKET_LENGTH_RANGE = (1, 8500)
VIRTUAL_NETWORK_ID_RANGE = (0, 16777215)  # 24-bit VXLAN network identifier
RULE_NUMBER_RANGE = (1, 32766)
PROTOCOL_RANGE = (0, 255)
PORT_RANGE = (0, 65535)
MAX_RESULTS_RANGE = (5, 1000)
CLIENT_TOKEN_MAX_LENGTH = 64
PORT_PROTOCOLS = (6, 17)  # TCP and UDP: the only protocols with ports


def require(value: Any, name: str) -> Any:
    if value is None or value == "":
        raise missing_parameter(name)
    return value


def check_range(name: str, value: Any, bounds: tuple[int, int]) -> int | None:
    """None passes (parameter absent); anything else must be an int within bounds."""
    if value is None:
        return None
    low, high = bounds
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or str(number) != str(value).strip() or not low <= number <= high:
        raise invalid_value(f"Invalid value '{value}' for {name}. {name} must be between {low} and {high}.")
    return number


def check_choice(name: str, value: Any, choices: Iterable[str]) -> Any:
    choices = tuple(choices)
    if value is not None and value not in choices:
        raise invalid_value(f"Invalid value '{value}' for {name}. Valid values: {', '.join(choices)}.")
    return value


def check_choices(name: str, values: Iterable[Any] | None, choices: Iterable[str]) -> list:
    return [check_choice(name, v, choices) for v in values or []]


def check_client_token(token: Any) -> str | None:
    if token is not None and len(str(token)) > CLIENT_TOKEN_MAX_LENGTH:
        raise invalid_value(
            f"Invalid value for ClientToken: it must be at most "
            f"{CLIENT_TOKEN_MAX_LENGTH} characters (got {len(str(token))})."
        )
    return token


def check_cidr(name: str, value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    require(value, name)
    try:
        if "/" not in str(value):
            raise ValueError("no prefix length")
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise invalid_value(f"Invalid value '{value}' for {name}: not a valid CIDR block.") from None


def check_same_family(source: Any, destination: Any) -> None:
    if source.version != destination.version:
        raise invalid_value("SourceCidrBlock and DestinationCidrBlock must both be IPv4 or both be IPv6.")


def check_port_range(name: str, port_range: Any) -> dict[str, int] | None:
    """A {FromPort, ToPort} request; both ports are required and From <= To."""
    if port_range is None:
        return None
    if not isinstance(port_range, dict):
        raise invalid_value(f"Invalid value for {name}.")
    from_port = check_range(
        f"{name}.FromPort", require(port_range.get("FromPort"), f"{name}.FromPort"), PORT_RANGE
    )
    to_port = check_range(f"{name}.ToPort", require(port_range.get("ToPort"), f"{name}.ToPort"), PORT_RANGE)
    assert from_port is not None and to_port is not None
    if from_port > to_port:
        raise invalid_value(
            f"Invalid value for {name}: FromPort ({from_port}) must not exceed ToPort ({to_port})."
        )
    return {"FromPort": from_port, "ToPort": to_port}


def check_ports_need_tcp_or_udp(protocol: int | None, has_port_range: bool) -> None:
    if has_port_range and protocol not in PORT_PROTOCOLS:
        raise invalid_value(
            "Port ranges can only be given with protocol 6 (TCP) or 17 (UDP); "
            f"the protocol is {protocol if protocol is not None else 'not set'}."
        )


def check_max_results(value: Any) -> int | None:
    return check_range("MaxResults", value, MAX_RESULTS_RANGE)
