"""The operator page /operations/work/ and the work counts of /healthz."""

from __future__ import annotations

import pytest

from lavka.core.tests.work_app.models import Chore
from lavka.core.work import WorkState

pytestmark = pytest.mark.django_db

PAGE = "/operations/work/"
ACT = "/operations/work/act/"


def failed_chore(title: str = "mop the floor") -> Chore:
    return Chore.objects.create(
        title=title, state=WorkState.FAILED, attempts=3, last_error="bucket missing"
    )


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_managers_and_superusers_see_the_problems(client, request, who):
    chore = failed_chore()
    client.force_login(request.getfixturevalue(who))

    response = client.get(PAGE)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="work-problem"' in content
    assert "mop the floor" in content
    assert "bucket missing" in content
    assert f'name="pk" value="{chore.pk}"' in content
    assert "core_tests.chore" in content


def test_the_page_says_so_when_all_is_well(client, manager):
    Chore.objects.create(title="fresh")
    client.force_login(manager)

    assert 'data-testid="work-all-well"' in client.get(PAGE).content.decode()


@pytest.mark.parametrize("who", ["customer", "creator"])
def test_customers_and_creators_are_refused(client, request, who):
    chore = failed_chore()
    client.force_login(request.getfixturevalue(who))

    assert client.get(PAGE).status_code == 403
    response = client.post(ACT, {"label": "core_tests.chore", "pk": chore.pk, "action": "retry"})
    assert response.status_code == 403
    chore.refresh_from_db()
    assert chore.state == WorkState.FAILED


def test_anonymous_visitors_are_sent_to_log_in(client):
    chore = failed_chore()

    page = client.get(PAGE)
    act = client.post(ACT, {"label": "core_tests.chore", "pk": chore.pk, "action": "discard"})

    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=/operations/work/")
    assert act.status_code == 302
    assert act["Location"].startswith("/accounts/login/")
    chore.refresh_from_db()
    assert chore.state == WorkState.FAILED


def test_the_page_accepts_only_posts_for_actions(client, manager):
    client.force_login(manager)

    assert client.get(ACT).status_code == 405


def test_retry_from_the_page_starts_the_work_again(
    client, manager, published, django_capture_on_commit_callbacks
):
    chore = failed_chore()
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ACT, {"label": "core_tests.chore", "pk": chore.pk, "action": "retry"}, follow=True
        )

    chore.refresh_from_db()
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Done." in response.content.decode()
    assert (chore.state, chore.attempts) == (WorkState.PENDING, 0)
    assert published == [("core_tests.do_chore", (chore.pk,))]


def test_discard_from_the_page_gives_up_and_says_who_did(client, manager):
    chore = failed_chore()
    client.force_login(manager)

    response = client.post(
        ACT, {"label": "core_tests.chore", "pk": chore.pk, "action": "discard"}, follow=True
    )

    chore.refresh_from_db()
    assert "Done." in response.content.decode()
    assert chore.state == WorkState.DONE
    assert manager.email in chore.last_error
    assert 'data-testid="work-all-well"' in response.content.decode()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"label": "core_tests.nothing", "action": "retry"}, "Nothing changed"),
        ({"label": "core.outboxmessage", "action": "retry"}, "Nothing changed"),
        ({"label": "core_tests.chore", "action": "retry", "pk": "absent"}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "retry", "pk": ""}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "retry", "pk": "abc"}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "retry", "pk": "-1"}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "retry", "pk": "9" * 30}, "Choose an item"),
        ({"label": "core_tests.chore\n\x00", "action": "retry", "pk": "1"}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "explode"}, "Choose an item"),
        ({"label": "", "action": "retry"}, "Choose an item"),
        ({"label": "core_tests.chore", "action": "retry", "pk": "done"}, "Nothing changed"),
        ({"label": "core_tests.chore", "action": "discard", "pk": "done"}, "Nothing changed"),
        ({"label": "core_tests.chore", "action": "discard", "pk": "pending"}, "Nothing changed"),
    ],
)
def test_a_bad_request_from_the_page_says_so_and_changes_nothing(
    client, manager, published, django_capture_on_commit_callbacks, form, message
):
    failed = failed_chore()
    done = Chore.objects.create(title="done", state=WorkState.DONE)
    pending = Chore.objects.create(title="pending")
    rows = {"done": done.pk, "pending": pending.pk}
    form = {"pk": failed.pk, **form}
    form["pk"] = rows.get(form["pk"], form["pk"])
    if form["pk"] == "absent":
        del form["pk"]
    before = list(Chore.objects.order_by("pk").values_list("state", "attempts", "last_error"))
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ACT, form, follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert message in response.content.decode()
    after = list(Chore.objects.order_by("pk").values_list("state", "attempts", "last_error"))
    assert after == before
    assert published == []


def test_healthz_counts_the_work_rows_per_state(client):
    Chore.objects.create(title="a")
    Chore.objects.create(title="b")
    Chore.objects.create(title="c", state=WorkState.ATTENTION)

    body = client.get("/healthz").json()

    assert body["work"]["core_tests.chore"] == {
        "pending": 2,
        "claimed": 0,
        "done": 0,
        "failed": 0,
        "attention": 1,
    }
    assert body["work"]["core_tests.errand"]["pending"] == 0
