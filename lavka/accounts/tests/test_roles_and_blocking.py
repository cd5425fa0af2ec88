from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lavka.accounts import services
from lavka.accounts.actions import BlockUser
from lavka.accounts.tests.factories import DEFAULT_PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("customer", 403), ("creator", 403), ("manager", 200), ("superuser", 200)],
)
def test_user_list_is_for_managers_and_superusers(client, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))

    response = client.get("/manage/users/")

    assert response.status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["block", "unblock"])
@pytest.mark.parametrize("who", ["customer", "creator"])
def test_non_managers_cannot_block_or_unblock(client, request, other_customer, who, action):
    client.force_login(request.getfixturevalue(who))

    response = client.post(f"/manage/users/{other_customer.pk}/{action}/", {"reason": "x"})

    other_customer.refresh_from_db()
    assert response.status_code == 403
    assert other_customer.is_active


@pytest.mark.django_db
def test_user_list_searches_and_filters(client, manager, customer, other_customer):
    services.block_user(actor=manager, user=other_customer, reason="Chargebacks")
    client.force_login(manager)

    found = client.get("/manage/users/", {"q": "carla"}).content.decode()
    blocked = client.get("/manage/users/", {"status": "blocked"}).content.decode()

    assert 'data-email="customer@example.com"' in found
    assert 'data-email="other@example.com"' not in found
    assert 'data-email="other@example.com"' in blocked
    assert 'data-email="customer@example.com"' not in blocked


@pytest.mark.django_db
def test_user_list_query_count_does_not_grow_with_users(
    client, manager, user_factory, django_assert_max_num_queries
):
    user_factory.create_batch(30)
    client.force_login(manager)

    with django_assert_max_num_queries(8):
        client.get("/manage/users/")


@pytest.mark.django_db
def test_blocked_user_cannot_log_in_and_is_told_why(client, manager, customer):
    client.force_login(manager)
    client.post(f"/manage/users/{customer.pk}/block/", {"reason": "Unpaid invoices"})
    client.logout()

    response = client.post(
        "/accounts/login/", {"login": "customer@example.com", "password": DEFAULT_PASSWORD}
    )

    assert "_auth_user_id" not in client.session
    assert b"Your account is blocked" in response.content
    assert b"Unpaid invoices" in response.content


@pytest.mark.django_db
def test_blocked_reason_is_not_shown_for_a_wrong_password(client, manager, customer):
    services.block_user(actor=manager, user=customer, reason="Unpaid invoices")

    response = client.post(
        "/accounts/login/", {"login": "customer@example.com", "password": "wrong"}
    )

    assert b"Unpaid invoices" not in response.content
    assert b"Your account is blocked" not in response.content


@pytest.mark.django_db
def test_blocking_ends_the_users_open_session(client, manager, customer):
    client.force_login(customer)
    services.block_user(actor=manager, user=customer, reason="Fraud")

    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_unblocked_user_can_log_in_again(client, manager, customer):
    services.block_user(actor=manager, user=customer, reason="Mistake")
    client.force_login(manager)

    client.post(f"/manage/users/{customer.pk}/unblock/")
    client.logout()
    client.post("/accounts/login/", {"login": customer.email, "password": DEFAULT_PASSWORD})

    customer.refresh_from_db()
    assert customer.blocked_at is None and customer.blocked_reason == ""
    assert client.session["_auth_user_id"] == str(customer.pk)


@pytest.mark.django_db
def test_blocking_needs_a_reason(client, manager, customer):
    client.force_login(manager)

    response = client.post(f"/manage/users/{customer.pk}/block/", {"reason": "  "}, follow=True)

    customer.refresh_from_db()
    assert customer.is_active
    assert b"Say why the user is blocked" in response.content


@pytest.mark.django_db
def test_a_manager_cannot_block_a_superuser_or_themselves(manager, superuser):
    with pytest.raises(ValidationError):
        BlockUser(manager, user=superuser, reason="Coup").execute()
    with pytest.raises(ValidationError):
        BlockUser(manager, user=manager, reason="Oops").execute()

    superuser.refresh_from_db()
    manager.refresh_from_db()
    assert superuser.is_active and manager.is_active


@pytest.mark.django_db
def test_a_manager_blocking_a_superuser_on_the_page_is_told_why(client, manager, superuser):
    client.force_login(manager)

    response = client.post(f"/manage/users/{superuser.pk}/block/", {"reason": "Coup"}, follow=True)

    superuser.refresh_from_db()
    assert superuser.is_active
    assert b"Only a superuser can block a superuser." in response.content


@pytest.mark.django_db
def test_block_action_refuses_non_managers(customer, other_customer):
    with pytest.raises(PermissionDenied):
        BlockUser(customer, user=other_customer, reason="Because").execute()


@pytest.mark.django_db
def test_blocking_an_unknown_user_is_404(client, manager):
    client.force_login(manager)

    assert client.post("/manage/users/999999/block/", {"reason": "x"}).status_code == 404


@pytest.mark.django_db
def test_role_groups_exist_with_their_permissions():
    from django.contrib.auth.models import Group

    manager_perms = set(
        Group.objects.get(name="manager").permissions.values_list("codename", flat=True)
    )

    assert set(Group.objects.values_list("name", flat=True)) >= {"customer", "creator", "manager"}
    assert {"block_user", "view_user"} <= manager_perms
    assert "view_outboxmessage" not in manager_perms  # the outbox is for superusers only


@pytest.mark.django_db
def test_an_account_added_in_the_admin_starts_as_a_customer(admin_client):
    from lavka.accounts.models import User

    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "added@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )

    added = User.objects.get(email="added@example.com")
    assert response.status_code == 302
    assert list(added.groups.values_list("name", flat=True)) == ["customer"]
