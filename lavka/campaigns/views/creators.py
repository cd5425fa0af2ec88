"""The campaigns area is for creators (and the managers who moderate them).

Every campaigns page is behind `creators_only`: a customer who finds one gets a page
that says how to become a creator, with status 403, instead of an empty area.
"""

from __future__ import annotations

from lavka.campaigns.actions import RUN_CAMPAIGNS
from lavka.core.decorators import permission_required

creators_only = permission_required(RUN_CAMPAIGNS, denied_template="accounts/for_creators.html")
