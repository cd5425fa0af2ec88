"""Mailing pages: list, create/edit, detail with the countdown to the next send, the
schedule/pause/resume/complete/delete actions, and a run's delivery log.

Who may do what is the actions' business. The pages find a mailing through the
selectors first: the owner's buttons (edit, schedule, complete, delete) among the
actor's own mailings, the moderation buttons (pause, disable, resume) among those the
actor may see, so another owner's mailing is a 404 there, as if it did not exist.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lavka.accounts.models import User
from lavka.campaigns import actions, selectors, services
from lavka.campaigns.forms.mailings import MailingForm, PauseForm
from lavka.campaigns.models import (
    ACTIVE_STATUSES,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Periodicity,
    mask_email,
    mask_emails_in,
)
from lavka.campaigns.views.creators import creators_only

MAILINGS_PER_PAGE = 25
RUNS_PER_PAGE = 20
DELIVERIES_PER_PAGE = 50

# Delivery.skip_reason holds a code (set by dispatch); these are its words.
SKIP_REASONS = {
    "unsubscribed": gettext_lazy("unsubscribed"),
    "suppressed": gettext_lazy("suppressed after a permanent failure"),
    "inactive": gettext_lazy("recipient deactivated"),
}


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _when(moment: datetime | None) -> str:
    """A time in the viewer's zone, with the zone named."""
    if moment is None:
        return _("not planned")
    local = timezone.localtime(moment)
    return (
        f"{formats.date_format(local, 'DATETIME_FORMAT')} ({timezone.get_current_timezone_name()})"
    )


def describe_schedule(mailing: Mailing) -> str:
    """The periodicity in words, at the wall-clock time of the mailing's own zone."""
    local = mailing.first_send_at.astimezone(zoneinfo.ZoneInfo(mailing.time_zone))
    values = {
        "time": formats.time_format(local),
        "weekday": formats.date_format(local, "l"),
        "day": local.day,
        "cron": mailing.cron_expression,
        "zone": mailing.time_zone,
    }
    phrases = {
        Periodicity.ONCE: _("Once"),
        Periodicity.DAILY: _("Every day at %(time)s, %(zone)s time"),
        Periodicity.WEEKLY: _("Every week on %(weekday)s at %(time)s, %(zone)s time"),
        Periodicity.MONTHLY: _("Every month on day %(day)s at %(time)s, %(zone)s time"),
        Periodicity.CRON: _("On the cron schedule “%(cron)s”, %(zone)s time"),
    }
    return phrases.get(Periodicity(mailing.periodicity), mailing.periodicity) % values


@dataclass(frozen=True)
class Countdown:
    """How far along the wait for the next send is; the page's bar shows it."""

    started_at: datetime
    next_send_at: datetime
    total_seconds: int
    elapsed_seconds: int

    @property
    def remaining_seconds(self) -> int:
        return self.total_seconds - self.elapsed_seconds


def countdown_for(
    mailing: Mailing, *, latest_run: MailingRun | None, now: datetime
) -> Countdown | None:
    """Measured from the latest run's slot, or from when the mailing was last (re)scheduled."""
    next_send_at = mailing.next_send_at
    if mailing.status not in ACTIVE_STATUSES or next_send_at is None:
        return None
    started_at = mailing.updated_at
    if latest_run is not None and latest_run.scheduled_for < next_send_at:
        started_at = latest_run.scheduled_for
    started_at = min(started_at, now, next_send_at)
    total = max(int((next_send_at - started_at).total_seconds()), 1)
    elapsed = min(max(int((now - started_at).total_seconds()), 0), total)
    return Countdown(started_at, next_send_at, total, elapsed)


def _apply_errors(form: MailingForm, error: ValidationError) -> None:
    """Put a service's errors at the fields they name (others above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else NON_FIELD_ERRORS, errors)


def _form_zone(request: HttpRequest, mailing: Mailing | None) -> str:
    return mailing.time_zone if mailing is not None else _actor(request).time_zone


def _mailing_form_page(
    request: HttpRequest, mailing: Mailing | None
) -> tuple[HttpResponse | None, MailingForm]:
    owner = _actor(request)
    form = MailingForm(request.POST or None, owner=owner, mailing=mailing)
    if request.method != "POST" or not form.is_valid():
        return None, form
    data = form.cleaned_data
    save = actions.SaveMailing(
        owner,
        mailing=mailing,
        name=data["name"],
        message=data["message"],
        first_send_at=data["first_send_at"],
        periodicity=data["periodicity"],
        cron_expression=data["cron_expression"],
        end_at=data["end_at"],
        lists=data["lists"],
        recipients=data["recipients"],
        then_schedule=request.POST.get("then") == "schedule",
    )
    try:
        saved = save.execute()
    except ValidationError as exc:
        _apply_errors(form, exc)
        return None, form
    if save.scheduled:
        messages.success(
            request, _("Scheduled. Next send: %(when)s.") % {"when": _when(saved.next_send_at)}
        )
    elif saved.status in ACTIVE_STATUSES:
        messages.success(
            request, _("Saved. Next send: %(when)s.") % {"when": _when(saved.next_send_at)}
        )
    else:
        messages.success(request, _("Saved."))
    return redirect("campaigns:mailing_detail", saved.pk), form


def _render_form(
    request: HttpRequest, form: MailingForm, mailing: Mailing | None, zone: str
) -> HttpResponse:
    return render(
        request,
        "campaigns/mailing_form.html",
        {
            "form": form,
            "mailing": mailing,
            "zone": zone,
            "can_schedule": mailing is None or mailing.status == MailingStatus.DRAFT,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@creators_only
def mailing_create(request: HttpRequest) -> HttpResponse:
    zone = _form_zone(request, None)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        done, form = _mailing_form_page(request, None)
        return done or _render_form(request, form, None, zone)


@creators_only
def mailing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailing = get_object_or_404(_owned(_actor(request)), pk=pk)
    if mailing.status == MailingStatus.COMPLETED:
        messages.error(request, _("A completed mailing cannot be edited."))
        return redirect("campaigns:mailing_detail", mailing.pk)
    zone = _form_zone(request, mailing)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        done, form = _mailing_form_page(request, mailing)
        return done or _render_form(request, form, mailing, zone)


@creators_only
def mailing_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    status = request.GET.get("status", "")
    mailings = selectors.mailings_visible_to(actor=actor)
    if status in MailingStatus.values:
        mailings = mailings.filter(status=status)
    else:
        status = ""
    page = Paginator(mailings, MAILINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/mailing_list.html",
        {
            "page": page,
            "status": status,
            "statuses": MailingStatus.choices,
            "sees_all": selectors.can_see_all_mailings(actor),
            "extra_query": f"status={status}&" if status else "",
        },
    )


@creators_only
def mailing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    mailing = get_object_or_404(selectors.mailings_visible_to(actor=actor), pk=pk)
    runs = Paginator(mailing.runs.order_by("-scheduled_for"), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    run_list = list(runs.object_list)
    if runs.number == 1:
        latest_run = run_list[0] if run_list else None
    else:
        latest_run = mailing.runs.order_by("-scheduled_for").first()
    audience = services.audience_queryset(mailing)
    is_owner = mailing.owner_id == actor.pk
    if not is_owner:
        # reasons may quote an SMTP reply that names a recipient; these copies are
        # only shown, never saved
        for run in run_list:
            run.status_reason = mask_emails_in(run.status_reason)
    may_moderate = actions.is_moderator(actor)
    return render(
        request,
        "campaigns/mailing_detail.html",
        {
            "mailing": mailing,
            "status_reason": _shown(mailing.status_reason, is_owner=is_owner),
            "runs": runs,
            "run_list": run_list,
            "is_owner": is_owner,
            "may_moderate": may_moderate,
            "schedule_in_words": describe_schedule(mailing),
            "countdown": countdown_for(mailing, latest_run=latest_run, now=timezone.now()),
            "audience_size": audience.count(),
            "reachable_size": audience.reachable().count(),
            "totals": selectors.run_totals_of(mailing=mailing),
            "is_active": mailing.status in ACTIVE_STATUSES,
            "pause_form": PauseForm(),
        },
    )


def _shown(text: str, *, is_owner: bool) -> str:
    """Only the owner reads their audience's addresses; a moderator sees them masked."""
    return text if is_owner else mask_emails_in(text)


def _owned(actor: User) -> QuerySet[Mailing]:
    return selectors.mailings_owned_by(actor=actor)


def _visible(actor: User) -> QuerySet[Mailing]:
    return selectors.mailings_visible_to(actor=actor)


def _act(
    request: HttpRequest,
    pk: int,
    *,
    find_among: Callable[[User], QuerySet[Mailing]],
    act: Callable[[User, Mailing], str],
) -> HttpResponse:
    """Find the mailing, run the action, and say on the detail page how it went."""
    actor = _actor(request)
    mailing = get_object_or_404(find_among(actor), pk=pk)
    try:
        result = act(actor, mailing)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, result)
    return redirect("campaigns:mailing_detail", mailing.pk)


@creators_only
@require_POST
def mailing_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, mailing: Mailing) -> str:
        actions.ScheduleMailing(actor, mailing=mailing).execute()
        return _("Scheduled. Next send: %(when)s.") % {"when": _when(mailing.next_send_at)}

    return _act(request, pk, find_among=_owned, act=act)


def _pause_reason(request: HttpRequest) -> str:
    form = PauseForm(request.POST)
    return form.cleaned_data["reason"] if form.is_valid() else ""


@creators_only
@require_POST
def mailing_pause(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, mailing: Mailing) -> str:
        actions.PauseMailing(actor, mailing=mailing, reason=_pause_reason(request)).execute()
        return _("Paused. Nothing is sent until the mailing is resumed.")

    return _act(request, pk, find_among=_visible, act=act)


@creators_only
@require_POST
def mailing_disable(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, mailing: Mailing) -> str:
        actions.PauseMailing(
            actor, mailing=mailing, reason=_pause_reason(request), disable=True
        ).execute()
        return _("Disabled. Its owner cannot resume it; a manager can.")

    return _act(request, pk, find_among=_visible, act=act)


@creators_only
@require_POST
def mailing_resume(request: HttpRequest, pk: int) -> HttpResponse:
    def act(actor: User, mailing: Mailing) -> str:
        actions.ResumeMailing(actor, mailing=mailing).execute()
        if mailing.status == MailingStatus.COMPLETED:
            return _("Resumed. The schedule has no further sends, so the mailing is completed.")
        return _("Resumed. Next send: %(when)s.") % {"when": _when(mailing.next_send_at)}

    return _act(request, pk, find_among=_visible, act=act)


@creators_only
@require_POST
def mailing_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's button; moderators end others' mailings from the API or the admin."""

    def act(actor: User, mailing: Mailing) -> str:
        actions.CompleteMailing(actor, mailing=mailing).execute()
        return _("Completed. The mailing will not send again.")

    return _act(request, pk, find_among=_owned, act=act)


@creators_only
def mailing_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    mailing = get_object_or_404(_owned(actor), pk=pk)
    if request.method == "POST":
        name = mailing.name
        actions.DeleteMailing(actor, mailing=mailing).execute()
        messages.success(request, _("Mailing “%(name)s” was deleted.") % {"name": name})
        return redirect("campaigns:mailing_list")
    return render(
        request,
        "campaigns/mailing_confirm_delete.html",
        {"mailing": mailing, "run_count": mailing.runs.count()},
    )


@creators_only
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    run = get_object_or_404(
        selectors.runs_visible_to(actor=actor).select_related("mailing__owner"), pk=pk
    )
    status = request.GET.get("status", "")
    deliveries = selectors.deliveries_of(run=run)
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    is_owner = run.mailing.owner_id == actor.pk
    rows: list[dict[str, Any]] = [
        {
            "delivery": delivery,
            "email": delivery.email if is_owner else mask_email(delivery.email),
            "smtp_reply": _shown(delivery.smtp_reply, is_owner=is_owner),
            "skip_reason": SKIP_REASONS.get(delivery.skip_reason, delivery.skip_reason),
        }
        for delivery in page.object_list
    ]
    return render(
        request,
        "campaigns/run_detail.html",
        {
            "run": run,
            "status_reason": _shown(run.status_reason, is_owner=is_owner),
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": DeliveryStatus.choices,
            "is_owner": is_owner,
            "extra_query": f"status={status}&" if status else "",
        },
    )
