"""Managers grant the creator role (until the marketplace makes it self-service), to
people only: never to themselves, staff or superusers (issue 8, finding 4)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lavka.accounts.actions import GrantCreatorRole
from lavka.accounts.models import User
from lavka.accounts.tests.factories import UserFactory
from lavka.core.roles import Role


def roles_of(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


@pytest.mark.django_db
def test_a_manager_makes_a_customer_a_creator_from_the_user_list(client, manager, customer):
    client.force_login(manager)
    page = client.get("/manage/users/").content.decode()
    assert f'action="/manage/users/{customer.pk}/grant-creator/"' in page

    response = client.post(f"/manage/users/{customer.pk}/grant-creator/", follow=True)

    assert response.status_code == 200
    assert f"{customer.email} is a creator now." in response.content.decode()
    assert roles_of(customer) == {"customer", "creator"}
    client.force_login(customer)
    assert client.get("/campaigns/").status_code == 200


@pytest.mark.django_db
def test_the_button_is_offered_only_where_it_would_work(client, manager, customer, creator):
    other_manager = UserFactory(roles=[Role.MANAGER])
    staff = UserFactory(is_staff=True)
    blocked = UserFactory(blocked_at="2030-01-01T00:00:00Z", is_active=False)
    root = User.objects.create_superuser("root@example.com", "x")
    client.force_login(manager)

    page = client.get("/manage/users/").content.decode()

    assert f"/manage/users/{customer.pk}/grant-creator/" in page
    for person in (manager, creator, other_manager, staff, blocked, root):
        assert f"/manage/users/{person.pk}/grant-creator/" not in page, person.email


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("self", "You cannot change your own roles."),
        ("manager", "Only a superuser can change the roles of staff."),
        ("staff", "Only a superuser can change the roles of staff."),
        ("superuser", "A superuser holds every permission already."),
        ("blocked", "is blocked; unblock them first."),
    ],
)
def test_a_manager_cannot_grant_it_to_staff_superusers_or_themselves(
    manager, superuser, target, refusal
):
    people = {
        "self": manager,
        "manager": UserFactory(roles=[Role.MANAGER]),
        "staff": UserFactory(is_staff=True),
        "superuser": superuser,
        "blocked": UserFactory(is_active=False),
    }
    person = people[target]
    before = roles_of(person)

    with pytest.raises(ValidationError, match=refusal):
        GrantCreatorRole(manager, user=person).execute()

    assert roles_of(person) == before


@pytest.mark.django_db
def test_the_route_says_why_a_grant_was_refused(client, manager, superuser):
    client.force_login(manager)

    response = client.post(f"/manage/users/{superuser.pk}/grant-creator/", follow=True)

    assert "A superuser holds every permission already." in response.content.decode()
    assert roles_of(superuser) == set()


@pytest.mark.django_db
def test_a_superuser_may_make_a_manager_a_creator(superuser):
    person = UserFactory(roles=[Role.MANAGER])

    GrantCreatorRole(superuser, user=person).execute()

    assert roles_of(person) == {"manager", "creator"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.CREATOR])
def test_customers_and_creators_cannot_grant_it(client, role, customer):
    actor = UserFactory(roles=[role, Role.CUSTOMER])
    client.force_login(actor)

    with pytest.raises(PermissionDenied):
        GrantCreatorRole(actor, user=customer).execute()
    response = client.post(f"/manage/users/{customer.pk}/grant-creator/")

    assert response.status_code == 403
    assert roles_of(customer) == {"customer"}


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_log_in(client, customer):
    response = client.post(f"/manage/users/{customer.pk}/grant-creator/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert roles_of(customer) == {"customer"}


@pytest.mark.django_db
def test_granting_twice_is_harmless(manager, customer):
    GrantCreatorRole(manager, user=customer).execute()
    GrantCreatorRole(manager, user=customer).execute()

    assert roles_of(customer) == {"customer", "creator"}
