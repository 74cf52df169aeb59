# -*- coding: utf-8 -*-
# Copyright: Contributors to the netmirror.traffic_mirror collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sub-options of a traffic mirror filter rule, written once for both directions: the filter module's
ingress_rules and egress_rules take the same rules (the module documents each option's own description; this
fragment adds the rule's sub-options to both). YAML anchors would say it once too, but ansible-doc 2.19
refuses them; so the text is one template, filled in per direction.
"""

from __future__ import annotations

_RULE_SUBOPTIONS = r"""
    suboptions:
      rule_number:
        description: The rule number, 1-32766, unique in its direction. Rules are evaluated in ascending order.
        type: int
        required: true
      rule_action:
        description: V(accept) mirrors matching packets; V(reject) does not.
        type: str
        required: true
        choices: [accept, reject]
      protocol:
        description:
          - The IANA protocol number (0-255), or a name (V(tcp), V(udp), V(icmp), V(icmpv6)) that is
            normalised to its number. Omitted, the rule matches every protocol.
        type: raw
      source_cidr_block:
        description: The source network, IPv4 or IPv6 (the same family as
          O({direction}_rules[].destination_cidr_block)).
        type: str
        required: true
      destination_cidr_block:
        description: The destination network.
        type: str
        required: true
{source_port_range}
{destination_port_range}
      description:
        description: The rule's description.
        type: str
"""


# Either port range of a rule, {end} being source or destination.
_PORT_RANGE = r"""      {end}_port_range:
        description: The {end} ports, only with protocol V(6) (TCP) or V(17) (UDP).
        type: dict
        suboptions:
          from_port:
            description: The first port, 0-65535.
            type: int
            required: true
          to_port:
            description: The last port, 0-65535, not below O({direction}_rules[].{end}_port_range.from_port).
            type: int
            required: true"""


def _rules_option(direction):
    ends = ("source", "destination")
    ranges = {end + "_port_range": _PORT_RANGE.format(end=end, direction=direction) for end in ends}
    return "  {0}_rules:".format(direction) + _RULE_SUBOPTIONS.format(direction=direction, **ranges)


class ModuleDocFragment:
    # Annotated, so that ansible-test's yamllint (which reads literal assignments only) leaves the built text to
    # validate-modules and ansible-doc, which see it as any other fragment.
    DOCUMENTATION: str = "options:\n" + _rules_option("ingress") + _rules_option("egress")
