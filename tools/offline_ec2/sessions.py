"""Traffic Mirror sessions: Create, Modify (with RemoveFields), Delete, Describe.

Over moto: AWS ids (tms-), range checks (SessionNumber 1-32766, PacketLength
1-8500, VirtualNetworkId 0-16777215), existence of ENI / target / filter,
quotas (3 sessions per source ENI, 10 sources per ENI target), ClientToken,
DryRun, RemoveFields, a random account-unique VNI when none is given,
PacketLength 8500 by default for NLB targets, every documented Describe filter.

Choice (AWS does not document it): a second session with the same
SessionNumber on one source ENI is rejected with InvalidParameterValue naming
the session number and the ENI, since the number orders evaluation on the ENI
and a tie would make the order ambiguous.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.moto_api._internal import mock_random as random  # seedable via /moto-api/seed

from . import handlers, ids, lookups
from .dry_run_auth import answer_dry_run
from .errors import EC2Error, invalid_combination, invalid_value
from .faults import FAULTS
from .state import LOCK, MirrorResource
from .validation import (
    PACKET_LENGTH_RANGE,
    SESSION_NUMBER_RANGE,
    VIRTUAL_NETWORK_ID_RANGE,
    check_choices,
    check_range,
    require,
)

SESSIONS_PER_INTERFACE = 3
SOURCES_PER_INTERFACE_TARGET = 10
NLB_DEFAULT_PACKET_LENGTH = 8500
REMOVABLE_FIELDS = {
    "packet-length": "PacketLength",
    "description": "Description",
    "virtual-network-id": "VirtualNetworkId",
}

DESCRIBE_FILTERS = {
    "description": lambda s: s.description,
    "network-interface-id": lambda s: s.network_interface_id,
    "owner-id": lambda s: s.owner_id,
    "packet-length": lambda s: s.packet_length,
    "session-number": lambda s: s.session_number,
    "traffic-mirror-filter-id": lambda s: s.traffic_mirror_filter_id,
    "traffic-mirror-session-id": lambda s: s.id,
    "traffic-mirror-target-id": lambda s: s.traffic_mirror_target_id,
    "virtual-network-id": lambda s: s.virtual_network_id,
}


class TrafficMirrorSession(MirrorResource):
    def __init__(self, ec2_backend: Any, network_interface_id: str, **fields: Any):
        super().__init__(ec2_backend, ids.new_id(ids.SESSION), FAULTS.describe_lag_calls())
        self.network_interface_id = network_interface_id
        self.traffic_mirror_target_id: str = fields["traffic_mirror_target_id"]
        self.traffic_mirror_filter_id: str = fields["traffic_mirror_filter_id"]
        self.session_number: int = fields["session_number"]
        self.packet_length: int | None = fields["packet_length"]
        self.virtual_network_id: int = fields["virtual_network_id"]
        self.description: str | None = fields["description"]

    def to_dict(self) -> dict[str, Any]:
        result = {
            "TrafficMirrorSessionId": self.id,
            "TrafficMirrorTargetId": self.traffic_mirror_target_id,
            "TrafficMirrorFilterId": self.traffic_mirror_filter_id,
            "NetworkInterfaceId": self.network_interface_id,
            "OwnerId": self.owner_id,
            "PacketLength": self.packet_length,  # absent = the whole packet
            "SessionNumber": self.session_number,
            "VirtualNetworkId": self.virtual_network_id,
            "Description": self.description,
            "Tags": self.tag_list(),
        }
        return {k: v for k, v in result.items() if v is not None}


def _sessions(ec2_backend: Any) -> list[TrafficMirrorSession]:
    return list(ec2_backend.traffic_mirror_sessions.values())


def random_unused_vni(ec2_backend: Any) -> int:
    """AWS: 'an account-wide unique id is chosen at random'; never 0."""
    used = {s.virtual_network_id for s in _sessions(ec2_backend)}
    while True:
        vni = random.randint(1, VIRTUAL_NETWORK_ID_RANGE[1])
        if vni not in used:
            return vni


def default_packet_length(target: Any) -> int | None:
    return NLB_DEFAULT_PACKET_LENGTH if target.type == "network-load-balancer" else None


def _check_interface_room(ec2_backend: Any, eni_id: str, session_number: int, moving: Any = None) -> None:
    on_eni = [s for s in _sessions(ec2_backend) if s.network_interface_id == eni_id and s is not moving]
    if moving is None and len(on_eni) >= SESSIONS_PER_INTERFACE:
        raise EC2Error(
            "TrafficMirrorSessionsPerInterfaceLimitExceeded",
            f"The network interface '{eni_id}' already has {SESSIONS_PER_INTERFACE} traffic mirror sessions.",
        )
    clash = [s.id for s in on_eni if s.session_number == session_number]
    if clash:
        raise invalid_value(
            f"Session number {session_number} is already used on network interface "
            f"'{eni_id}' by traffic mirror session '{clash[0]}'."
        )


def _check_target_room(ec2_backend: Any, target: Any, source_eni: str, moving: Any = None) -> None:
    if target.type != "network-interface":
        return  # NLB and GWLB endpoint targets have no source quota
    sources = {
        s.network_interface_id
        for s in _sessions(ec2_backend)
        if s.traffic_mirror_target_id == target.id and s is not moving
    }
    if source_eni not in sources and len(sources) >= SOURCES_PER_INTERFACE_TARGET:
        raise EC2Error(
            "TrafficMirrorSourcesPerTargetLimitExceeded",
            f"The traffic mirror target '{target.id}' already has {SOURCES_PER_INTERFACE_TARGET} sources.",
        )


SESSIONS = handlers.Kind(
    "TrafficMirrorSession", ids.SESSION, DESCRIBE_FILTERS, lambda b: b.traffic_mirror_sessions
)


class SessionResponses(EC2BaseResponse):
    def _create_parameters(self) -> dict[str, Any]:
        """The parameters, checked in the order AWS names them."""
        given = {
            key: require(self._get_param(param), param)
            for key, param in (
                ("eni_id", "NetworkInterfaceId"),
                ("target_id", "TrafficMirrorTargetId"),
                ("filter_id", "TrafficMirrorFilterId"),
            )
        }
        number = require(self._get_param("SessionNumber"), "SessionNumber")
        given["session_number"] = check_range("SessionNumber", number, SESSION_NUMBER_RANGE)
        for key, param, allowed in (
            ("packet_length", "PacketLength", PACKET_LENGTH_RANGE),
            ("vni", "VirtualNetworkId", VIRTUAL_NETWORK_ID_RANGE),
        ):
            given[key] = check_range(param, self._get_param(param), allowed)
        return given

    def _check_create(self, given: dict[str, Any]) -> Any:
        """The target, once the ENI, the target and the filter exist and the quotas leave room."""
        backend = self.ec2_backend
        lookups.get_network_interface(backend, given["eni_id"])
        target = lookups.get_target(backend, given["target_id"])
        lookups.get_filter(backend, given["filter_id"])
        _check_interface_room(backend, given["eni_id"], given["session_number"])
        _check_target_room(backend, target, given["eni_id"])
        return target

    def _new_session(self, given: dict[str, Any], target: Any) -> TrafficMirrorSession:
        backend = self.ec2_backend
        packet_length, vni = given["packet_length"], given["vni"]
        return TrafficMirrorSession(
            backend,
            given["eni_id"],
            traffic_mirror_target_id=given["target_id"],
            traffic_mirror_filter_id=given["filter_id"],
            session_number=given["session_number"],
            packet_length=packet_length if packet_length is not None else default_packet_length(target),
            virtual_network_id=vni if vni is not None else random_unused_vni(backend),
            description=self._get_param("Description"),
        )

    def create_traffic_mirror_session(self) -> ActionResult:
        with LOCK:
            return handlers.create(
                self, SESSIONS, self._new_session, prepare=self._create_parameters, check=self._check_create
            )

    def modify_traffic_mirror_session(self) -> ActionResult:
        with LOCK:
            backend = self.ec2_backend
            session = lookups.get_session(backend, self._get_param("TrafficMirrorSessionId"))
            removed = check_choices("RemoveFields", self._get_param("RemoveFields"), REMOVABLE_FIELDS)
            both = [REMOVABLE_FIELDS[f] for f in removed if self._get_param(REMOVABLE_FIELDS[f]) is not None]
            if both:
                raise invalid_combination(f"{', '.join(both)} cannot be both set and removed.")
            session_number = check_range(
                "SessionNumber", self._get_param("SessionNumber"), SESSION_NUMBER_RANGE
            )
            packet_length = check_range("PacketLength", self._get_param("PacketLength"), PACKET_LENGTH_RANGE)
            vni = check_range(
                "VirtualNetworkId", self._get_param("VirtualNetworkId"), VIRTUAL_NETWORK_ID_RANGE
            )
            target_id = self._get_param("TrafficMirrorTargetId")
            filter_id = self._get_param("TrafficMirrorFilterId")
            target = lookups.get_target(backend, target_id or session.traffic_mirror_target_id)
            if filter_id is not None:
                lookups.get_filter(backend, filter_id)
            if session_number is not None:
                _check_interface_room(backend, session.network_interface_id, session_number, moving=session)
            if target_id is not None:
                _check_target_room(backend, target, session.network_interface_id, moving=session)
            answer_dry_run(self)

            if target_id is not None:
                session.traffic_mirror_target_id = target_id
            if filter_id is not None:
                session.traffic_mirror_filter_id = filter_id
            if session_number is not None:
                session.session_number = session_number
            if packet_length is not None:
                session.packet_length = packet_length
            if vni is not None:
                session.virtual_network_id = vni
            if self._get_param("Description") is not None:
                session.description = self._get_param("Description")
            if "packet-length" in removed:
                session.packet_length = default_packet_length(target)
            if "description" in removed:
                session.description = None
            if "virtual-network-id" in removed:
                session.virtual_network_id = random_unused_vni(backend)
            return ActionResult({"TrafficMirrorSession": session.to_dict()})

    describe_traffic_mirror_sessions = handlers.describe_method(SESSIONS)

    def delete_traffic_mirror_session(self) -> ActionResult:
        with LOCK:
            session = lookups.get_session(self.ec2_backend, self._get_param("TrafficMirrorSessionId"))
            return handlers.delete(self, SESSIONS, session)
