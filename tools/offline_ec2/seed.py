"""Seeding an account through the backend, for benchmarks at the account quota (control API: POST seed).

Creating 10,000 sessions through the API takes minutes, because each create scans every session of the
account for its quotas. Seeding builds the same objects directly, checking the same rules once for the
whole batch with indexes: the ENI, target and filter exist; at most 3 sessions per source ENI, each number
once; at most 10 sources per ENI target. Nothing seeded is in the request log.

Body: {"region": "us-east-1", "account_id": "123456789012" (optional),
       "network_interfaces": {"subnet_id": "subnet-...", "count": N} (optional),
       "sessions": [{"NetworkInterfaceId", "TrafficMirrorTargetId", "TrafficMirrorFilterId", "SessionNumber",
                     "PacketLength"?, "VirtualNetworkId"?, "Description"?, "Tags"?: {key: value}}] (optional)}
Answers {"network_interface_ids": [...], "traffic_mirror_session_ids": [...]}; a rule broken fails the whole
batch (400) before anything is created.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from . import lookups, tags
from .sessions import (
    SESSIONS_PER_INTERFACE,
    SOURCES_PER_INTERFACE_TARGET,
    TrafficMirrorSession,
    default_packet_length,
)
from .state import LOCK


class SeedError(ValueError):
    pass


def seed(body: dict[str, Any]) -> dict[str, Any]:
    backend = ec2_backends[body.get("account_id") or DEFAULT_ACCOUNT_ID][body["region"]]
    with LOCK:
        answer: dict[str, Any] = {"network_interface_ids": [], "traffic_mirror_session_ids": []}
        enis = body.get("network_interfaces")
        if enis:
            subnet = backend.get_subnet(enis["subnet_id"])
            for _ in range(int(enis["count"])):
                eni = backend.create_network_interface(subnet, private_ip_address=None)
                answer["network_interface_ids"].append(eni.id)
        sessions = body.get("sessions") or []
        _check_sessions(backend, sessions)
        used_vnis = {s.virtual_network_id for s in backend.traffic_mirror_sessions.values()}
        next_vni = 1
        for spec in sessions:
            target = backend.traffic_mirror_targets[spec["TrafficMirrorTargetId"]]
            vni = spec.get("VirtualNetworkId")
            if vni is None:
                while next_vni in used_vnis:
                    next_vni += 1
                vni = next_vni
            used_vnis.add(vni)
            packet_length = spec.get("PacketLength")
            session = TrafficMirrorSession(
                backend,
                spec["NetworkInterfaceId"],
                traffic_mirror_target_id=target.id,
                traffic_mirror_filter_id=spec["TrafficMirrorFilterId"],
                session_number=int(spec["SessionNumber"]),
                packet_length=packet_length if packet_length is not None else default_packet_length(target),
                virtual_network_id=vni,
                description=spec.get("Description"),
            )
            backend.traffic_mirror_sessions[session.id] = session
            tags.tag_new_resource(backend, session.id, dict(spec.get("Tags") or {}))
            answer["traffic_mirror_session_ids"].append(session.id)
        return answer


def _check_sessions(backend: Any, sessions: list[dict[str, Any]]) -> None:
    numbers: dict[str, set[int]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    for existing in backend.traffic_mirror_sessions.values():
        numbers[existing.network_interface_id].add(existing.session_number)
        sources[existing.traffic_mirror_target_id].add(existing.network_interface_id)
    known_enis = set(backend.enis)
    for index, spec in enumerate(sessions):
        where = f"sessions[{index}]"
        eni, number = spec.get("NetworkInterfaceId"), spec.get("SessionNumber")
        if eni not in known_enis:
            raise SeedError(f"{where}: network interface {eni!r} does not exist")
        try:
            target = lookups.get_target(backend, spec.get("TrafficMirrorTargetId"))
            lookups.get_filter(backend, spec.get("TrafficMirrorFilterId"))
        except Exception as error:  # EC2Error: its message names the id
            raise SeedError(f"{where}: {error}") from None
        if number in numbers[eni]:
            raise SeedError(f"{where}: session number {number} is already used on {eni}")
        numbers[eni].add(number)
        if len(numbers[eni]) > SESSIONS_PER_INTERFACE:
            raise SeedError(f"{where}: {eni} would have more than {SESSIONS_PER_INTERFACE} sessions")
        if target.type == "network-interface":
            sources[target.id].add(eni)
            if len(sources[target.id]) > SOURCES_PER_INTERFACE_TARGET:
                raise SeedError(f"{where}: target {target.id} would have more than 10 sources")
