# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options of the _info modules (ids and filters), written once: each module extends its own variable,
netmirror.traffic_mirror.info.sessions, .targets or .filters. As in filter_rules, the text is one template
filled in per kind (ansible-doc 2.19 refuses YAML anchors). RETURN cannot come from a fragment; each module keeps
its own.
"""

from __future__ import annotations

_OPTIONS = r"""
options:
  traffic_mirror_{kind}_ids:
    description:
      - {title} ids (V({prefix}-...)) to describe. An id that does not exist fails the task.
    type: list
    elements: str
    default: []
    aliases: [{kind}_ids]
  filters:
    description:
      - A dict of filters, each a name and a value or list of values, as in
        U(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTrafficMirror{title}s.html),
        for example {examples}.
      - EC2 takes at most 200 filter values in one call; when one filter has more (say, a long list of
        C(network-interface-id) values), the module splits that filter's values across calls and returns each
        {kind} once. See the collection's docs/modules.md.
    type: dict
    default: {{}}
"""


def _options(kind, examples):
    return _OPTIONS.format(kind=kind, title=kind.capitalize(), prefix="tm" + kind[0], examples=examples)


class ModuleDocFragment:
    # Annotated, so that ansible-test's yamllint (which reads literal assignments only) leaves the built text to
    # validate-modules and ansible-doc, which see it as any other fragment.
    SESSIONS: str = _options(
        "session",
        "C(network-interface-id), C(session-number), C(traffic-mirror-target-id), C(virtual-network-id), "
        "C(tag:Name) or C(tag-key)",
    )
    TARGETS: str = _options(
        "target", "C(network-interface-id), C(network-load-balancer-arn), C(description), C(tag:Name)"
    )
    FILTERS: str = _options("filter", "C(description), C(traffic-mirror-filter-id), C(tag:Name)")
