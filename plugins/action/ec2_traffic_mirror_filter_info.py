# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs ec2_traffic_mirror_filter_info with amazon.aws's module_defaults groups (group/aws) resolved."""

from __future__ import annotations

from ansible_collections.netmirror.traffic_mirror.plugins.plugin_utils.aws_defaults import AwsDefaultsAction


class ActionModule(AwsDefaultsAction):
    pass
