# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The body of the _info modules: ids and/or filters in, every page read, snake_case out.

Each module names its kind ('session', 'target' or 'filter'); the option, the id prefix, the Describe call and
its keys follow from it, as the netmirror.traffic_mirror.info doc fragment documents them.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_all
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ec2_client
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_module import fail_on_errors
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_id


def run_info_module(kind, shape):
    """Describe the resources of `kind` the options select and exit with them (`shape` turns one AWS resource into
    what the module returns)."""
    ids_option = "traffic_mirror_{0}_ids".format(kind)
    argument_spec = {
        ids_option: dict(type="list", elements="str", default=[], aliases=[kind + "_ids"]),
        "filters": dict(type="dict", default={}),
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ids = module.params[ids_option]
    checks = (check_id("{0}[{1}]".format(ids_option, n), i, "tm" + kind[0]) for n, i in enumerate(ids))
    fail_on_errors(module, [e for e in checks if e])

    operation = "describe_traffic_mirror_{0}s".format(kind)
    request = {"Filters": ansible_dict_to_boto3_filter_list(module.params["filters"])}
    if ids:
        request["TrafficMirror{0}Ids".format(kind.capitalize())] = ids
    resources = describe_all(
        module,
        ec2_client(module),
        operation,
        "TrafficMirror{0}s".format(kind.capitalize()),
        "calling " + operation,
        **request,
    )
    module.exit_json(changed=False, **{"traffic_mirror_{0}s".format(kind): [shape(r) for r in resources]})
