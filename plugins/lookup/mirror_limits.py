# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: mirror_limits
author:
  - netmirror team (@netmirror)
version_added: 0.1.0
short_description: The ranges AWS allows for a traffic mirror session's numbers
description:
  - Returns, for each limit named, its inclusive range as a list C([lowest, highest]), from the collection's
    rule model (plugins/module_utils/mirror_rules.py), which the modules and the mirroring agent check against too.
  - The mirror_collector role checks its VNIs with it, so the role, the modules and the agent allow the same values.
options:
  _terms:
    description:
      - Names of limits, any of V(session_number), V(packet_length), V(virtual_network_id).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a VNI outside AWS's range
  ansible.builtin.assert:
    that: vni | int >= __vni_range[0] and vni | int <= __vni_range[1]
  vars:
    __vni_range: "{{ query('netmirror.traffic_mirror.mirror_limits', 'virtual_network_id') | first }}"
"""

RETURN = r"""
_raw:
  description: One C([lowest, highest]) list of integers per limit named, in the order named.
  type: list
  elements: list
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import PACKET_LENGTH_RANGE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import SESSION_NUMBER_RANGE
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import VIRTUAL_NETWORK_ID_RANGE

LIMITS = {
    "session_number": SESSION_NUMBER_RANGE,
    "packet_length": PACKET_LENGTH_RANGE,
    "virtual_network_id": VIRTUAL_NETWORK_ID_RANGE,
}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = [term for term in terms if term not in LIMITS]
        if unknown or not terms:
            raise AnsibleError(
                "mirror_limits: unknown limit {0}; allowed: {1}.".format(
                    ", ".join(repr(term) for term in unknown) or "(none named)", ", ".join(sorted(LIMITS))
                )
            )
        return [list(LIMITS[term]) for term in terms]
