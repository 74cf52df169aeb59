# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Finding and deleting filters and targets, which share their identity rules (id or Name tag)
and the rule that a resource a session still uses cannot be deleted."""

from __future__ import annotations

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import GONE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_all
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_once
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ec2_client
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import write
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import STATE_OPTION
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import TAG_OPTIONS
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import finish


class Kind(object):
    """How one kind of resource is described, named in messages and deleted."""

    def __init__(self, name, plural, id_option, session_filter):
        self.name = name  # 'target' or 'filter'
        self.label = "traffic mirror " + name
        self.id_option = id_option
        self.id_field = "TrafficMirror{0}Id".format(name.capitalize())
        self.describe = "describe_traffic_mirror_" + plural
        self.ids_key = "TrafficMirror{0}Ids".format(name.capitalize())
        self.result_key = "TrafficMirror{0}".format(plural.capitalize())
        self.delete = "delete_traffic_mirror_" + name
        self.session_filter = session_filter
        self.returned = "traffic_mirror_" + name


TARGET = Kind("target", "targets", "traffic_mirror_target_id", "traffic-mirror-target-id")
FILTER = Kind("filter", "filters", "traffic_mirror_filter_id", "traffic-mirror-filter-id")


def find_by_id_or_name(module, client, kind):
    """The resource the task names by id or by Name tag, or None. One Describe call."""
    resource_id = module.params[kind.id_option]
    if resource_id:
        request = {kind.ids_key: [resource_id]}
    else:
        request = {"Filters": [{"Name": "tag:Name", "Values": [module.params["name"]]}]}
    found = describe_once(
        module, client, kind.describe, kind.result_key, "describing the " + kind.label, kind.name, **request
    )
    if len(found) > 1:
        module.fail_json(
            msg="More than one {0} is named {1!r}: {2}. Name one with {3}.".format(
                kind.label, module.params["name"], ", ".join(sorted(r[kind.id_field] for r in found)), kind.id_option
            )
        )
    return found[0] if found else None


def sessions_using(module, client, kind, resource_id):
    sessions = describe_all(
        module,
        client,
        "describe_traffic_mirror_sessions",
        "TrafficMirrorSessions",
        "listing the sessions that use " + resource_id,
        Filters=[{"Name": kind.session_filter, "Values": [resource_id]}],
    )
    return sorted(s["TrafficMirrorSessionId"] for s in sessions)


def delete_unused(module, client, kind, resource):
    """Delete a target or filter, or fail listing the sessions that still use it. Returns changed."""
    resource_id = resource[kind.id_field]
    users = sessions_using(module, client, kind, resource_id)
    if users:
        module.fail_json(
            msg="{0} {1} is still used by sessions {2}; delete those sessions or change them to another {3} "
            "first.".format(kind.label.capitalize(), resource_id, ", ".join(users), kind.name),
            sessions=users,
        )
    response = write(
        module,
        client,
        kind.delete,
        "deleting " + resource_id,
        gone_if_not_found=kind.name,
        **{kind.id_field: resource_id},
    )
    return response is not GONE


def resource_argument_spec(kind, **options):
    """The options of the target or filter module: state, id (alias <kind>_id), name, description, replace, the
    kind's own `options` and the tag options."""
    return dict(
        STATE_OPTION,
        **{kind.id_option: dict(type="str", aliases=[kind.name + "_id"])},
        name=dict(type="str"),
        description=dict(type="str"),
        replace=dict(type="bool", default=False),
        **options,
        **TAG_OPTIONS,
    )


def run_resource_module(module, kind, view, refusal, create, update):
    """Find the target or filter, then delete, create, replace or update it, and exit with it (in `view`'s shape).

    refusal(current): why AWS cannot bring `current` to the options in place (a message), or None. With
    replace=true the resource is deleted and created again instead. create(client) returns the new resource's
    view; update(client, current) returns (changed, view).
    """
    client = ec2_client(module)
    current = find_by_id_or_name(module, client, kind)
    before = view(current) if current else {}
    params = module.params

    if params["state"] == "absent":
        changed, result = bool(current) and delete_unused(module, client, kind, current), {}
    elif current is None:
        changed, result = True, create(client)
    else:
        refused = refusal(current)
        if refused and not params["replace"]:
            module.fail_json(
                msg=refused + " Set replace=true to delete it and create a new one.", **{kind.returned: before}
            )
        if refused:
            delete_unused(module, client, kind, current)
            changed, result = True, create(client)
        else:
            changed, result = update(client, current)

    finish(module, changed, (before, result), **{kind.returned: result})
