"""Who may reach a route, declared beside it in its urls.py.

Each urls.py keeps `ACCESS = {"route_name": Access(...)}` right below its urlpatterns,
keyed by the name as `reverse()` spells it from that module (without the namespaces of
the includes above it). lavka/urls.py also declares third-party route groups by path
prefix in `ACCESS_BY_PREFIX`. `lavka/core/tests/test_access_matrix.py` walks the URL
configuration, requests every route as every role and asserts the declared outcome; a
route without a declaration fails the suite.

An `Access` gives one outcome per role. For a route whose parameters name an object
(`target`), owners (the customer and the creator) ask for their own object, and
`other_owner` is what another creator gets asking for someone else's; the manager, the
superuser and anonymous visitors always ask for someone else's. Campaigns are for
creators: a customer asking for their own (say, from before they lost the role) is
refused all the same.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Literal


class Outcome(enum.StrEnum):
    """What a role gets from a route."""

    # served: 2xx or a redirect that is not to a login page; for a POST-only route also
    # 400, the view itself refusing the empty form
    OK = "ok"
    LOGIN = "login"  # a redirect to the login page (the admin's, for the admin)
    UNAUTHORIZED = "unauthorized"  # 401, the API without a token or session
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: the object is outside what the role may see
    METHOD = "method"  # 405


OK = Outcome.OK
LOGIN = Outcome.LOGIN
UNAUTHORIZED = Outcome.UNAUTHORIZED
FORBIDDEN = Outcome.FORBIDDEN
NOT_FOUND = Outcome.NOT_FOUND
METHOD = Outcome.METHOD

DENIALS = frozenset({LOGIN, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, METHOD})

ROLES = ("anonymous", "customer", "creator", "manager", "superuser", "other_owner")


@dataclass(frozen=True)
class Access:
    """The outcome for each role, what the route's parameters name, and its method.

    `target` names the kind of object the parameters point at ("campaigns.mailing");
    the access test knows how to make one. `method="POST"` marks a route that only takes
    POST: the outcomes are those of an empty POST, and a GET must be refused (405, or the
    role's own denial).
    """

    anonymous: Outcome
    customer: Outcome
    creator: Outcome
    manager: Outcome
    superuser: Outcome
    other_owner: Outcome | None = None
    target: str = ""
    method: Literal["GET", "POST"] = "GET"

    def of(self, target: str) -> Access:
        """The same rule for a route whose parameters name a `target` object."""
        return replace(self, target=target)

    def post_only(self) -> Access:
        return replace(self, method="POST")

    def but(self, **outcomes: Outcome) -> Access:
        """A preset with some roles' outcomes changed."""
        return replace(self, **outcomes)  # type: ignore[arg-type]

    def outcome_for(self, role: str) -> Outcome | None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        outcome: Outcome | None = getattr(self, role)
        return outcome


# Everyone, signed in or not.
PUBLIC = Access(anonymous=OK, customer=OK, creator=OK, manager=OK, superuser=OK)
# Any signed-in user; anonymous visitors are sent to the login page.
SIGNED_IN = Access(anonymous=LOGIN, customer=OK, creator=OK, manager=OK, superuser=OK)
# An owner's own object; for everyone else, managers and superusers included, it is 404.
SIGNED_IN_OWNER_SCOPED = Access(
    anonymous=LOGIN,
    customer=OK,
    creator=OK,
    manager=NOT_FOUND,
    superuser=NOT_FOUND,
    other_owner=NOT_FOUND,
)
# Owners see their own; managers (and superusers) see everyone's; other owners get 404.
MANAGERS_SEE_ALL = Access(
    anonymous=LOGIN,
    customer=OK,
    creator=OK,
    manager=OK,
    superuser=OK,
    other_owner=NOT_FOUND,
)
# Staff pages: a permission only managers hold (superusers hold every permission).
MANAGERS_ONLY = Access(
    anonymous=LOGIN, customer=FORBIDDEN, creator=FORBIDDEN, manager=OK, superuser=OK
)
# The Django admin: whoever is not staff is sent to the admin's login page.
SUPERUSERS_ONLY = Access(
    anonymous=LOGIN, customer=LOGIN, creator=LOGIN, manager=LOGIN, superuser=OK
)
# Pages that may show secrets (the outbox holds password reset links): superusers only;
# everyone else, anonymous visitors and managers included, gets 404 as if it did not exist.
SUPERUSERS_ONLY_SECRET = Access(
    anonymous=NOT_FOUND, customer=NOT_FOUND, creator=NOT_FOUND, manager=NOT_FOUND, superuser=OK
)
# The REST API: a token or a session is needed, then the same rules as the pages.
API_SIGNED_IN = SIGNED_IN.but(anonymous=UNAUTHORIZED)
API_OWNER_SCOPED = SIGNED_IN_OWNER_SCOPED.but(anonymous=UNAUTHORIZED)
API_MANAGERS_SEE_ALL = MANAGERS_SEE_ALL.but(anonymous=UNAUTHORIZED)
# For creators (and managers): campaigns and API tokens. A customer gets 403, on a page
# that says how to become a creator (on the API, a JSON 403).
CREATORS = SIGNED_IN.but(customer=FORBIDDEN)
CREATORS_OWNER_SCOPED = SIGNED_IN_OWNER_SCOPED.but(customer=FORBIDDEN)
CREATORS_MANAGERS_SEE_ALL = MANAGERS_SEE_ALL.but(customer=FORBIDDEN)
API_CREATORS = API_SIGNED_IN.but(customer=FORBIDDEN)
API_CREATORS_OWNER_SCOPED = API_OWNER_SCOPED.but(customer=FORBIDDEN)
API_CREATORS_MANAGERS_SEE_ALL = API_MANAGERS_SEE_ALL.but(customer=FORBIDDEN)
