# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The identity options of the target and filter modules (state, id, name), written once: each module extends its
own variable, netmirror.traffic_mirror.resource.targets or .filters; module_utils/tm_resources.py's
resource_argument_spec() builds the same options. As in filter_rules, the text is one template filled in per kind
(ansible-doc 2.19 refuses YAML anchors).
"""

from __future__ import annotations

_OPTIONS = r"""
options:
  state:
    description: V(present) creates the {kind}{updates}; V(absent) deletes it{deleted}.
    type: str
    choices: [present, absent]
    default: present
  traffic_mirror_{kind}_id:
    description: The id (V({prefix}-...)) of an existing {kind}.
    type: str
    aliases: [{kind}_id]
  name:
    description:
      - The {kind}'s C(Name) tag, which identifies it when O(traffic_mirror_{kind}_id) is not given,
        and which is set on a new {kind}.
    type: str
"""


def _options(kind, updates="", deleted=""):
    return _OPTIONS.format(kind=kind, prefix="tm" + kind[0], updates=updates, deleted=deleted)


class ModuleDocFragment:
    # Annotated, so that ansible-test's yamllint (which reads literal assignments only) leaves the built text to
    # validate-modules and ansible-doc, which see it as any other fragment.
    TARGETS: str = _options("target")
    FILTERS: str = _options("filter", updates=" or updates it", deleted=" (with its rules)")
