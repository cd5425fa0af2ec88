"""What apps declare (lavka/core/registry.py) and what core makes of it: the menu, the
role groups and the demo data."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from lavka.core.demo import load_demo_data
from lavka.core.registry import NavEntry, declarations, lavka_apps
from lavka.core.roles import Role, forget_cached_roles, has_role, role_permissions, sync_role_groups

pytestmark = pytest.mark.django_db

CHORES = NavEntry(
    "Chores", "background_work", "core_tests.view_chore", order=86, test_id="nav-chores"
)


@pytest.fixture
def work_app(monkeypatch):
    """The test app's config, whose declarations a test may set."""
    config = apps.get_app_config("core_tests")
    for name in ("role_grants", "navigation", "demo_data", "demo_order", "health_checks"):
        monkeypatch.setattr(config, name, getattr(config, name))
    return config


def menu(client) -> str:
    return client.get("/").content.decode()


def test_every_lavka_app_is_found():
    labels = {config.label for config in lavka_apps()}

    assert {"core", "accounts", "campaigns", "content", "core_tests"} <= labels
    assert "admin" not in labels


def test_the_background_work_link_is_shown_to_those_who_may_operate_it(
    client, customer, creator, manager, superuser
):
    for user, shown in ((customer, False), (creator, False), (manager, True), (superuser, True)):
        client.force_login(user)
        assert ('data-testid="nav-background-work"' in menu(client)) is shown, user.email
    client.logout()
    assert 'data-testid="nav-background-work"' not in menu(client)


def test_an_apps_menu_entry_follows_its_permission(client, work_app, customer):
    work_app.navigation = [CHORES]
    client.force_login(customer)
    assert 'data-testid="nav-chores"' not in menu(client)

    customer.user_permissions.add(Permission.objects.get(codename="view_chore"))
    forget_cached_roles(customer)
    client.force_login(customer)

    assert 'data-testid="nav-chores"' in menu(client)


def test_menu_entries_of_all_apps_are_sorted_by_order(work_app):
    work_app.navigation = [CHORES]

    entries = declarations().navigation
    orders = [entry.order for entry in entries]

    assert orders == sorted(orders)
    names = [entry.url_name for entry in entries]
    assert names.index("outbox_list") < names.index("background_work")
    assert CHORES in entries


def test_role_grants_of_all_apps_are_merged(work_app):
    work_app.role_grants = {
        "manager": ["core_tests.view_chore", "core.operate_background_work"],
        "creator": ["core_tests.add_chore"],
    }

    grants = role_permissions()

    assert {"core.operate_background_work", "accounts.view_user", "core_tests.view_chore"} <= set(
        grants[Role.MANAGER]
    )
    assert grants[Role.MANAGER].count("core.operate_background_work") == 1
    assert "core_tests.add_chore" in grants[Role.CREATOR]
    assert "core_tests.view_chore" not in grants[Role.CUSTOMER]


def test_sync_brings_the_groups_in_line_with_the_grants(work_app):
    work_app.role_grants = {"creator": ["core_tests.add_chore", "core_tests.no_such_permission"]}

    sync_role_groups()

    creator = Group.objects.get(name=Role.CREATOR)
    assert creator.permissions.filter(codename="add_chore").exists()
    work_app.role_grants = {}
    sync_role_groups()
    assert not creator.permissions.filter(codename="add_chore").exists()


def test_after_migrate_the_manager_group_may_operate_background_work(manager, customer):
    group = Group.objects.get(name=Role.MANAGER)

    assert group.permissions.filter(
        content_type__app_label="core", codename="operate_background_work"
    ).exists()
    assert manager.has_perm("core.operate_background_work")
    assert not customer.has_perm("core.operate_background_work")
    assert {group.name for group in Group.objects.all()} >= {role.value for role in Role}


def test_roles_are_for_display_only(manager, customer, superuser):
    assert has_role(manager, Role.MANAGER)
    assert not has_role(customer, Role.MANAGER)
    assert has_role(superuser, Role.MANAGER)


def test_demo_data_loaders_run_in_their_declared_order(monkeypatch, work_app):
    orders = {"core": 30, "accounts": 10, "core_tests": 20}
    loaders = {"core": "third", "accounts": "first", "core_tests": "second"}
    for config in lavka_apps():
        monkeypatch.setattr(config, "demo_order", orders.get(config.label, 100))
        monkeypatch.setattr(
            config,
            "demo_data",
            f"lavka.core.tests.work_app.demo.{loaders[config.label]}"
            if config.label in loaders
            else "",
        )

    lines = load_demo_data()

    assert lines == ["first after nothing", "second after first", "third after first, second"]


def test_health_checks_of_core_come_first():
    names = [check.name for check in declarations().health_checks]

    assert names[:4] == ["database", "cache", "broker", "worker"]


def test_an_actor_without_a_pk_owns_nothing():
    from django.contrib.auth.models import AnonymousUser

    from lavka.core.actions import SYSTEM, owns

    class Thing:
        owner_id = None

    assert not owns(AnonymousUser(), Thing())
    assert not owns(SYSTEM, Thing())


def test_an_owner_owns_their_object(customer, other_customer):
    from lavka.core.actions import owns

    class Thing:
        owner_id = customer.pk

    assert owns(customer, Thing())
    assert not owns(other_customer, Thing())
