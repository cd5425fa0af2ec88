"""Every route by every role, generated from the URL configuration (issue 7).

Each route's expected outcome per role is declared beside it, in the `ACCESS` dict of its
urls.py (lavka/core/access.py). A route without a declaration fails here, and so does a
declaration that names no route. Owners (customer, creator) ask for their own object;
the manager, the superuser, anonymous visitors and another owner (a creator) ask for
someone else's.

Each case GETs the route. A POST-only route is then POSTed with an empty body, which must
give the declared outcome (a GET must be refused); on other routes a role that is denied
the GET must be denied an empty POST too. An error (500) fails the case.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lavka.core.access import DENIALS, METHOD, OK, ROLES
from lavka.core.tests import access_matrix
from lavka.core.tests.access_matrix import TARGETS, Route, build_path, observed, sample_values

WALK = access_matrix.walk()

OWNING_ROLES = {"customer", "creator"}

# Cases whose current behaviour differs from the declaration, each with why; strict, so
# a fix shows up as a failure to remove the entry.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@pytest.fixture(autouse=True)
def _healthy(monkeypatch: pytest.MonkeyPatch) -> None:
    """/healthz answers 503 without a worker; here only who may ask matters."""
    monkeypatch.setattr("lavka.core.views.run_checks", dict)


def _cases() -> list[Any]:
    cases = []
    for route in WALK.routes:
        if route.access is None:
            cases.append(pytest.param(route, "", id=f"{route.label}@undeclared"))
            continue
        target = TARGETS.get(route.access.target)
        owned = target is not None and target.owned
        roles = [role for role in ROLES if owned or role != "other_owner"]
        for role in roles:
            reason = KNOWN_FAILURES.get((route.label, role))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(route, role, id=f"{route.label}@{role}", marks=marks))
    return cases


def _user(role: str) -> Any:
    from lavka.accounts.models import User
    from lavka.accounts.tests.factories import UserFactory
    from lavka.core.roles import Role

    if role == "anonymous":
        return None
    if role == "superuser":
        return User.objects.create_superuser("root@example.com", "not-used-here")
    roles = {
        "customer": [Role.CUSTOMER],
        "other_owner": [Role.CREATOR, Role.CUSTOMER],
        "creator": [Role.CREATOR, Role.CUSTOMER],
        "owner": [Role.CREATOR, Role.CUSTOMER],
        "manager": [Role.MANAGER],
    }[role]
    return UserFactory(roles=roles)


def _parameters(route: Route, role: str, actor: Any) -> dict[str, Any]:
    access = route.access
    assert access is not None
    values: dict[str, Any] = {}
    if access.target:
        assert route.parameters, f"{route.label} declares target={access.target!r} but takes none"
        target = TARGETS.get(access.target)
        assert target is not None, f"{route.label}: no maker for target {access.target!r}"
        owns_it = target.owned and role in OWNING_ROLES
        values = target.make(actor if owns_it else _user("owner"))
    elif route.parameters:
        values = sample_values(route)
    missing = set(route.parameters) - set(values)
    assert not missing, (
        f"{route.label} ({route.pattern}) takes {sorted(missing)}: declare a target "
        "(Access.of(...)) and give it a maker in lavka/core/tests/access_matrix.py TARGETS"
    )
    return values


@pytest.mark.parametrize(("route", "role"), _cases())
def test_route_access(route: Route, role: str, client: Client, db: None) -> None:
    assert route.access is not None, (
        f"route {route.label!r} ({route.pattern}) has no declared access: add it to ACCESS "
        "in the urls.py that holds it (lavka/core/access.py)"
    )
    access = route.access
    expected = access.outcome_for(role)
    assert expected is not None, f"{route.declared_in} declares no outcome for {role}"
    actor = _user(role)
    if actor is not None:
        client.force_login(actor)
    path = build_path(route, _parameters(route, role, actor))
    where = f"(declared in {route.declared_in})"

    response = client.get(path, secure=True)
    got = observed(response, method="GET")
    # The API takes JSON only: its empty POST is an empty JSON object.
    empty = {"content_type": "application/json"} if route.name.startswith("api:") else {}
    if access.method == "POST":
        refused = {METHOD} if expected == OK else {METHOD, expected}
        assert got in refused, f"{role} GET {path} of a POST-only route: {got}, not {refused}"
        response = client.post(path, secure=True, **empty)
        got = observed(response, method="POST")
        assert got == expected, f"{role} POST {path}: {got}, expected {expected} {where}"
    else:
        assert got == expected, f"{role} GET {path}: {got}, expected {expected} {where}"
        if expected in DENIALS and expected != METHOD:
            response = client.post(path, secure=True, **empty)
            got = observed(response, method="POST")
            assert got in DENIALS, f"{role} POST {path}: {got}, but a GET is {expected} {where}"


def test_every_route_declares_its_access() -> None:
    undeclared = [f"{route.label} ({route.pattern})" for route in WALK.routes if not route.access]
    assert not undeclared, "routes without a declared access: " + ", ".join(undeclared)


def test_every_declaration_names_a_route() -> None:
    assert not WALK.stale, "declarations of no route: " + ", ".join(WALK.stale)
