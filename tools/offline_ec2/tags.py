"""Tags on traffic-mirroring resources: TagSpecifications and CreateTags/DeleteTags.

Tags are stored in moto's EC2 tag store, so moto's DescribeTags and the
Resource Groups Tagging API see them. moto registers the wrong id prefixes
for filters and targets (traf-mir-fil-, traf-mir-tar-) and none for rules;
install() gives its tag validation the prefixes AWS uses.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.responses._base_response import EC2BaseResponse
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, EC2_RESOURCE_TO_PREFIX

from . import ids, lookups
from .errors import invalid_value

_AWS_PREFIXES = {
    "traffic-mirror-session": ids.SESSION,
    "traffic-mirror-target": ids.TARGET,
    "traffic-mirror-filter": ids.FILTER,
    "traffic-mirror-filter-rule": ids.FILTER_RULE,
}


def install() -> None:
    for resource_type, prefix in _AWS_PREFIXES.items():
        old_prefix = EC2_RESOURCE_TO_PREFIX.get(resource_type)
        if old_prefix and EC2_PREFIX_TO_RESOURCE.get(old_prefix) == resource_type:
            del EC2_PREFIX_TO_RESOURCE[old_prefix]
        EC2_RESOURCE_TO_PREFIX[resource_type] = prefix
        EC2_PREFIX_TO_RESOURCE[prefix] = resource_type


def tags_from_specifications(specifications: Any, resource_type: str) -> dict[str, str]:
    """TagSpecifications -> {key: value}; only the create call's own resource type."""
    tags: dict[str, str] = {}
    for spec in specifications or []:
        given_type = spec.get("ResourceType")
        if given_type != resource_type:
            raise invalid_value(f"'{given_type}' is not a valid taggable resource type for this operation.")
        for tag in spec.get("Tags") or []:
            tags[tag["Key"]] = tag.get("Value", "")
    return tags


def tag_new_resource(ec2_backend: Any, resource_id: str, tags: dict[str, str]) -> None:
    if tags:
        ec2_backend.create_tags([resource_id], tags)


def forget_tags(ec2_backend: Any, resource_id: str) -> None:
    ec2_backend.tags.pop(resource_id, None)


def require_mirror_resources_exist(ec2_backend: Any, resource_ids: list[str]) -> None:
    """moto's CreateTags checks existence of many types, but not these."""
    for resource_id in resource_ids or []:
        prefix = str(resource_id).split("-", 1)[0]
        if prefix in _AWS_PREFIXES.values():
            lookups.get(ec2_backend, prefix, resource_id)


class TagResponses(EC2BaseResponse):
    def create_tags(self) -> Any:
        require_mirror_resources_exist(self.ec2_backend, self._get_param("Resources", []))
        return super().create_tags()  # type: ignore[misc]

    def delete_tags(self) -> Any:
        require_mirror_resources_exist(self.ec2_backend, self._get_param("Resources", []))
        return super().delete_tags()  # type: ignore[misc]
