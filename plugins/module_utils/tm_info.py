# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The common body of the _info modules: ids and/or filters in, every page read, snake_case out."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import describe_all
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import ec2_client
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_params import check_id


def info_argument_spec(ids_option, alias):
    return dict(
        **{ids_option: dict(type="list", elements="str", default=[], aliases=[alias])},
        filters=dict(type="dict", default={}),
    )


def run_info_module(ids_option, alias, id_kind, operation, request_ids_key, result_key, returned_key, shape):
    """Describe the resources the options select and exit with them under `returned_key`.

    `shape` turns one AWS resource into what the module returns.
    """
    module = AnsibleAWSModule(argument_spec=info_argument_spec(ids_option, alias), supports_check_mode=True)
    ids = module.params[ids_option]
    errors = [e for e in (check_id("{0}[{1}]".format(ids_option, n), i, id_kind) for n, i in enumerate(ids)) if e]
    if errors:
        module.fail_json(msg=" ".join(errors), errors=errors)

    request = {"Filters": ansible_dict_to_boto3_filter_list(module.params["filters"])}
    if ids:
        request[request_ids_key] = ids
    resources = describe_all(module, ec2_client(module), operation, result_key, "calling " + operation, **request)
    module.exit_json(changed=False, **{returned_key: [shape(r) for r in resources]})
