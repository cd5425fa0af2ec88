"""Who may do what with accounts, per role, through the actions every entry point uses."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from lavka.accounts import services
from lavka.accounts.actions import (
    BlockUser,
    CreateApiToken,
    RevokeApiToken,
    UnblockUser,
    UpdateProfile,
)
from lavka.accounts.models import ApiToken
from lavka.core.actions import SYSTEM
from lavka.core.roles import Role

ROLES = ["anonymous", "customer", "creator", "manager", "superuser"]


def actor_for(request, who):
    return AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("anonymous", False),
        ("customer", False),
        ("creator", False),
        ("manager", True),
        ("superuser", True),
    ],
)
def test_block_user_per_role(request, other_customer, who, allowed):
    action = BlockUser(actor_for(request, who), user=other_customer, reason="Chargebacks")

    if allowed:
        action.execute()
    else:
        with pytest.raises(PermissionDenied):
            action.execute()

    other_customer.refresh_from_db()
    assert other_customer.is_active is not allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("anonymous", False),
        ("customer", False),
        ("creator", False),
        ("manager", True),
        ("superuser", True),
    ],
)
def test_unblock_user_per_role(request, other_customer, who, allowed):
    services.block_user(actor=None, user=other_customer, reason="Chargebacks")
    action = UnblockUser(actor_for(request, who), user=other_customer)

    if allowed:
        action.execute()
    else:
        with pytest.raises(PermissionDenied):
            action.execute()

    other_customer.refresh_from_db()
    assert other_customer.is_active is allowed


@pytest.mark.django_db
def test_a_manager_blocking_a_superuser_is_refused(manager, superuser):
    action = BlockUser(manager, user=superuser, reason="Coup")

    with pytest.raises(ValidationError, match="Only a superuser can block a superuser"):
        action.execute()

    superuser.refresh_from_db()
    assert superuser.is_active
    assert not action.is_allowed()


@pytest.mark.django_db
def test_a_manager_cannot_unblock_a_superuser_another_superuser_blocked(manager, superuser):
    from lavka.accounts.models import User

    blocked_root = User.objects.create_superuser("root3@example.com", "x")
    BlockUser(superuser, user=blocked_root, reason="Key compromised").execute()

    with pytest.raises(ValidationError, match="Only a superuser can unblock a superuser"):
        UnblockUser(manager, user=blocked_root).execute()

    blocked_root.refresh_from_db()
    assert not blocked_root.is_active


@pytest.mark.django_db
def test_a_superuser_blocks_another_superuser_but_not_themselves(superuser, user_factory):
    from lavka.accounts.models import User

    other_root = User.objects.create_superuser("root2@example.com", "x")

    BlockUser(superuser, user=other_root, reason="Left the company").execute()
    with pytest.raises(ValidationError, match="You cannot block yourself"):
        BlockUser(superuser, user=superuser, reason="Oops").execute()

    other_root.refresh_from_db()
    assert not other_root.is_active
    assert other_root.blocked_by == superuser


@pytest.mark.django_db
def test_lavka_itself_blocks_without_a_person_recorded(customer):
    BlockUser(SYSTEM, user=customer, reason="Automated fraud check").execute()

    customer.refresh_from_db()
    assert not customer.is_active and customer.blocked_by is None


@pytest.mark.django_db
@pytest.mark.parametrize("who", ROLES)
def test_update_own_profile_per_role(request, who):
    actor = actor_for(request, who)
    target = request.getfixturevalue("customer") if who == "anonymous" else actor
    action = UpdateProfile(
        actor, user=target, full_name="New Name", time_zone="Europe/Paris", language="ru"
    )

    if who == "anonymous":
        with pytest.raises(PermissionDenied):
            action.execute()
    else:
        action.execute()

    target.refresh_from_db()
    assert (target.full_name == "New Name") is (who != "anonymous")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [("customer", False), ("creator", False), ("manager", False), ("superuser", True)],
)
def test_update_someone_elses_profile_per_role(request, other_customer, who, allowed):
    action = UpdateProfile(
        request.getfixturevalue(who),
        user=other_customer,
        full_name="Renamed",
        time_zone="UTC",
        language="en",
    )

    if allowed:
        action.execute()
    else:
        with pytest.raises(PermissionDenied):
            action.execute()

    other_customer.refresh_from_db()
    assert (other_customer.full_name == "Renamed") is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("who", ROLES)
def test_create_own_api_token_per_role(request, who):
    """The API is for creators and managers (issue 8, finding 4)."""
    actor = actor_for(request, who)
    target = request.getfixturevalue("customer") if who == "anonymous" else actor
    allowed = who in {"creator", "manager", "superuser"}

    if allowed:
        issued = CreateApiToken(actor, user=target, name="script").execute()
        assert issued.token.user == target
    else:
        with pytest.raises(PermissionDenied):
            CreateApiToken(actor, user=target, name="script").execute()

    assert ApiToken.objects.filter(user=target).exists() is allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [("customer", False), ("creator", False), ("manager", False), ("superuser", True)],
)
def test_create_a_token_for_someone_else_per_role(request, user_factory, who, allowed):
    someone = user_factory(roles=[Role.CREATOR, Role.CUSTOMER])
    action = CreateApiToken(request.getfixturevalue(who), user=someone, name="theirs")

    if allowed:
        action.execute()
    else:
        with pytest.raises(PermissionDenied):
            action.execute()

    assert ApiToken.objects.filter(user=someone).exists() is allowed


@pytest.mark.django_db
def test_no_token_is_issued_to_a_customer_even_by_a_superuser(superuser, customer):
    with pytest.raises(ValidationError, match="is not a creator; the API is for creators"):
        CreateApiToken(superuser, user=customer, name="theirs").execute()

    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_no_token_is_created_for_a_blocked_user(customer):
    services.block_user(actor=None, user=customer, reason="Spam")

    with pytest.raises(ValidationError, match="blocked"):
        CreateApiToken(SYSTEM, user=customer, name="cli").execute()

    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("anonymous", False),
        ("customer", False),
        ("creator", False),
        ("manager", False),
        ("superuser", True),
    ],
)
def test_revoke_someone_elses_token_per_role(request, other_customer, who, allowed):
    token = services.create_api_token(user=other_customer, name="theirs").token
    action = RevokeApiToken(actor_for(request, who), token=token)

    if allowed:
        action.execute()
    else:
        with pytest.raises(PermissionDenied):
            action.execute()

    token.refresh_from_db()
    assert (token.revoked_at is not None) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["customer", "creator", "manager", "superuser"])
def test_revoke_own_token_per_role(request, who):
    actor = request.getfixturevalue(who)
    token = services.create_api_token(user=actor, name="mine").token

    RevokeApiToken(actor, token=token).execute()

    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_create_api_token_command_refuses_a_blocked_user(customer):
    from django.core.management import CommandError, call_command

    services.block_user(actor=None, user=customer, reason="Spam")

    with pytest.raises(CommandError, match="is blocked; a token would not work"):
        call_command("create_api_token", customer.email)


@pytest.mark.django_db
def test_admin_unblocks_through_the_action(admin_client, customer):
    services.block_user(actor=None, user=customer, reason="Mistake")

    admin_client.post(
        "/admin/accounts/user/",
        {"action": "unblock_users", "_selected_action": [customer.pk]},
    )

    customer.refresh_from_db()
    assert customer.is_active and customer.blocked_at is None


@pytest.mark.django_db
def test_admin_blocks_with_a_reason_through_the_action(admin_client, customer):
    confirm = admin_client.post(
        "/admin/accounts/user/",
        {"action": "block_users", "_selected_action": [customer.pk]},
    )
    admin_client.post(
        "/admin/accounts/user/",
        {"action": "block_users", "_selected_action": [customer.pk], "reason": "Fraud"},
    )

    customer.refresh_from_db()
    assert confirm.status_code == 200
    assert not customer.is_active and customer.blocked_reason == "Fraud"
