"""moto's EC2Response with the traffic-mirroring extensions mixed in.

Subclassing keeps every moto EC2 action; the mixins (listed first, so they win)
replace moto's traffic-mirroring handlers, add the ones moto lacks, guard
CreateTags/DeleteTags and make DryRun answer 412. install() points moto's EC2
URL map at this class before the server builds its Flask apps.
"""

from __future__ import annotations

import moto.ec2.urls
from moto.ec2.responses import EC2Response

from .dry_run_auth import DryRunResponses
from .filter_rules import FilterRuleResponses
from .filters import FilterResponses
from .sessions import SessionResponses
from .tags import TagResponses
from .targets import TargetResponses


class OfflineEC2Response(
    SessionResponses,
    TargetResponses,
    FilterResponses,
    FilterRuleResponses,
    TagResponses,
    DryRunResponses,
    EC2Response,
):
    pass


def install() -> None:
    for path, handler in list(moto.ec2.urls.url_paths.items()):
        if getattr(handler, "__self__", None) is EC2Response:
            moto.ec2.urls.url_paths[path] = OfflineEC2Response.dispatch
