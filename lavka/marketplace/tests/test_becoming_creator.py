"""A user becomes a creator once: at once by default, or after a manager's approval when
LAVKA_CREATOR_APPROVAL is on; a second attempt says why not."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lavka.accounts.tests.factories import UserFactory
from lavka.core.roles import Role, has_role
from lavka.marketplace import actions
from lavka.marketplace.models import CreatorProfile
from lavka.marketplace.tests.factories import CreatorProfileFactory, image_upload

pytestmark = pytest.mark.django_db

BECOME = reverse("marketplace:become_creator")
REQUESTS = reverse("marketplace:creator_requests")


def _form(**changes: Any) -> dict[str, Any]:
    return {"display_name": "Pottery Lane", "slug": "pottery-lane", "bio": "Cups.", **changes}


def _reload(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


def test_a_customer_becomes_a_creator_at_once_by_default(client: Client, customer: Any) -> None:
    client.force_login(customer)

    response = client.post(BECOME, _form(avatar=image_upload("me.jpg", "JPEG")))

    assert response.status_code == 302
    assert response["Location"] == reverse("marketplace:my_products")
    profile = CreatorProfile.objects.get(user=customer)
    assert profile.status == CreatorProfile.Status.APPROVED
    assert profile.avatar.name.startswith("marketplace/avatars/")
    assert profile.avatar.name.endswith(".jpg")
    user = _reload(customer)
    assert has_role(user, Role.CREATOR)
    # with the role come campaigns and the product pages
    assert user.has_perm("campaigns.add_mailing")
    assert client.get(reverse("marketplace:my_products")).status_code == 200
    assert client.get(reverse("campaigns:dashboard")).status_code == 200


def test_a_second_attempt_says_you_are_already_a_creator(client: Client, customer: Any) -> None:
    client.force_login(customer)
    client.post(BECOME, _form())

    page = client.get(BECOME)
    again = client.post(BECOME, _form(slug="second-shop"), follow=True)

    assert "You are already a creator." in page.content.decode()
    assert "You are already a creator." in again.content.decode()
    assert CreatorProfile.objects.filter(user=customer).count() == 1
    assert not CreatorProfile.objects.filter(slug="second-shop").exists()


def test_the_action_itself_refuses_a_second_profile(customer: Any) -> None:
    actions.BecomeCreator(customer, display_name="One", slug="one").execute()

    with pytest.raises(ValidationError, match="already a creator"):
        actions.BecomeCreator(_reload(customer), display_name="Two", slug="two").execute()


def test_with_approval_on_a_request_waits_and_grants_nothing(
    client: Client, customer: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    client.force_login(customer)

    client.post(BECOME, _form())
    again = client.post(BECOME, _form(slug="other"), follow=True)

    profile = CreatorProfile.objects.get(user=customer)
    assert profile.status == CreatorProfile.Status.PENDING
    assert not has_role(_reload(customer), Role.CREATOR)
    assert "Your request is waiting for approval." in again.content.decode()
    # not a creator yet: the products pages say how to become one
    refused = client.get(reverse("marketplace:my_products"))
    assert refused.status_code == 403
    assert reverse("marketplace:become_creator") in refused.content.decode()


def test_a_manager_approves_a_request_which_grants_the_role(
    client: Client, customer: Any, manager: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    profile = actions.BecomeCreator(customer, display_name="Lane", slug="lane").execute()
    client.force_login(manager)

    listed = client.get(REQUESTS)
    response = client.post(reverse("marketplace:creator_request_approve", args=[profile.pk]))

    assert "Lane" in listed.content.decode()
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.status == CreatorProfile.Status.APPROVED
    assert profile.decided_by == manager
    assert has_role(_reload(customer), Role.CREATOR)


def test_a_rejected_request_shows_the_reason_and_may_be_sent_again(
    client: Client, customer: Any, manager: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    profile = actions.BecomeCreator(customer, display_name="Lane", slug="lane").execute()
    staff = Client()
    staff.force_login(manager)

    empty_reason = staff.post(
        reverse("marketplace:creator_request_reject", args=[profile.pk]), {"reason": "  "}
    )
    profile.refresh_from_db()
    assert empty_reason.status_code == 302 and profile.status == CreatorProfile.Status.PENDING

    staff.post(
        reverse("marketplace:creator_request_reject", args=[profile.pk]),
        {"reason": "Tell buyers what you make."},
    )
    client.force_login(customer)
    page = client.get(BECOME)
    resent = client.post(BECOME, _form(slug="lane", bio="Cups and bowls."))

    assert "Tell buyers what you make." in page.content.decode()
    assert not has_role(_reload(customer), Role.CREATOR)
    assert resent.status_code == 302
    profile.refresh_from_db()
    assert profile.status == CreatorProfile.Status.PENDING
    assert profile.bio == "Cups and bowls."


def test_a_request_is_decided_once(customer: Any, manager: Any, settings: Any) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    profile = actions.BecomeCreator(customer, display_name="Lane", slug="lane").execute()
    stale = CreatorProfile.objects.get(pk=profile.pk)  # another manager's open tab
    actions.DecideCreatorRequest(manager, profile=profile, approve=True).execute()

    with pytest.raises(ValidationError, match="decided already"):
        actions.DecideCreatorRequest(manager, profile=stale, approve=False, reason="no").execute()
    profile.refresh_from_db()
    assert profile.status == CreatorProfile.Status.APPROVED


def test_only_managers_decide_requests_and_never_their_own(
    customer: Any, creator: Any, manager: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    profile = actions.BecomeCreator(customer, display_name="Lane", slug="lane").execute()
    for outsider in (customer, creator):
        with pytest.raises(PermissionDenied):
            actions.DecideCreatorRequest(outsider, profile=profile, approve=True).execute()
    own = actions.BecomeCreator(manager, display_name="Mia", slug="mia").execute()
    with pytest.raises(ValidationError, match="your own request"):
        actions.DecideCreatorRequest(manager, profile=own, approve=True).execute()


@pytest.mark.parametrize("role", ["customer", "creator"])
def test_customers_and_creators_cannot_open_or_post_the_request_queue(
    client: Client, role: str, request: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    pending = CreatorProfileFactory(user=UserFactory(), status=CreatorProfile.Status.PENDING)
    client.force_login(request.getfixturevalue(role))

    assert client.get(REQUESTS).status_code == 403
    response = client.post(reverse("marketplace:creator_request_approve", args=[pending.pk]))

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == CreatorProfile.Status.PENDING


def test_a_creator_by_role_without_a_profile_gets_one_approved_even_with_approval_on(
    client: Client, creator: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = True
    client.force_login(creator)

    sent_on = client.get(reverse("marketplace:my_products"))
    client.post(BECOME, _form())

    assert sent_on.status_code == 302 and sent_on["Location"] == BECOME
    assert CreatorProfile.objects.get(user=creator).status == CreatorProfile.Status.APPROVED


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.post(BECOME, _form())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not CreatorProfile.objects.exists()


def test_customers_opening_campaigns_are_shown_the_way_to_become_a_creator(
    client: Client, customer: Any
) -> None:
    client.force_login(customer)

    response = client.get(reverse("campaigns:dashboard"))

    assert response.status_code == 403
    assert f'href="{BECOME}"' in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"slug": "taken"}, "slug", "taken"),
        ({"slug": "no spaces/or slashes"}, "slug", "valid"),
        ({"display_name": ""}, "display_name", "required"),
        ({"display_name": "Lane\r\nBcc: x@example.com"}, "display_name", "line breaks"),
        ({"display_name": "x" * 101}, "display_name", "at most 100"),
        ({"bio": "x" * 5001}, "bio", "at most 5000"),
        (
            {"avatar": SimpleUploadedFile("me.png", b"MZ\x90\x00 not an image")},
            "avatar",
            "image",
        ),
    ],
)
def test_bad_input_is_refused_at_its_field_and_nothing_is_kept(
    client: Client, customer: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    CreatorProfileFactory(slug="taken")
    client.force_login(customer)

    response = client.post(BECOME, _form(**changes))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    assert words in " ".join(errors[field])
    assert not CreatorProfile.objects.filter(user=customer).exists()
    assert not has_role(_reload(customer), Role.CREATOR)


def test_a_10_mb_value_is_refused_whole_and_nothing_is_kept(client: Client, customer: Any) -> None:
    client.force_login(customer)

    response = client.post(BECOME, _form(display_name="x" * 10 * 1024 * 1024))

    # Django refuses a body above DATA_UPLOAD_MAX_MEMORY_SIZE before any view reads it
    assert response.status_code == 400
    assert not CreatorProfile.objects.exists()


def test_an_avatar_above_the_size_limit_is_refused(
    client: Client, customer: Any, settings: Any
) -> None:
    settings.MARKETPLACE_MAX_IMAGE_BYTES = 1000
    client.force_login(customer)

    response = client.post(BECOME, _form(avatar=image_upload(size=(400, 400), fmt="PNG")))

    assert response.status_code == 400
    assert "larger than" in " ".join(response.context["form"].errors["avatar"])
    assert not CreatorProfile.objects.exists()


def test_a_creator_edits_their_own_profile_only(client: Client, creator: Any) -> None:
    mine = CreatorProfileFactory(user=creator, slug="mine")
    other = CreatorProfileFactory(slug="theirs")
    client.force_login(creator)

    response = client.post(
        reverse("marketplace:creator_profile_edit"),
        {"display_name": "Renamed", "slug": "mine", "bio": "New."},
    )
    with pytest.raises(PermissionDenied):
        actions.UpdateCreatorProfile(
            creator, profile=other, display_name="Hijack", slug="theirs", bio=""
        ).execute()

    assert response.status_code == 302
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.display_name == "Renamed"
    assert other.display_name != "Hijack"
