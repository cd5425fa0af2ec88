"""Bookkeeping pages under /bookkeeping/: the overview (connections, trade points and
their mappings, schedules), connecting a system, a connection's reference data, and the
sync page (schedules, runs, shifts waiting for a person) with "sync now" and retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from lavka.core.decorators import permission_required
from lavka.integrations import actions, selectors, services
from lavka.integrations.forms import ConnectForm, IntervalForm, MappingForm
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ReferenceItem,
    ReferenceKind,
    SyncRun,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.sync import dispatch

View = Callable[..., HttpResponseBase]

PAGE_SIZE = 50  # connections per page of a manager's list
RUNS_PER_PAGE = 20
SHIFTS_PER_PAGE = 50
WAITING_SHOWN = 100  # shifts waiting for a person listed on the sync page

# Creators and managers; a customer gets the page saying how to become a creator.
viewers = permission_required(
    "integrations.view_connection", denied_template="accounts/for_creators.html"
)


def owners(permission: str) -> Callable[[View], View]:
    """A page that changes the owner's own things: viewers who lack `permission`
    (managers) get 403; the object itself is looked up among the actor's own (404)."""

    def decorate(view: View) -> View:
        return viewers(permission_required(permission)(view))

    return decorate


def _refresh_note(request: HttpRequest, refresh: services.Refresh) -> None:
    if refresh:
        flash.success(request, _("Reference data refreshed."))
    else:
        flash.error(request, refresh.error)


def _refused(request: HttpRequest, error: ValidationError, owner_id: Any) -> HttpResponse:
    """A refusal to remove what has shifts not booked: said on the sync page, where
    they are listed (and may be discarded)."""
    for message in error.messages:
        flash.error(request, message)
    return _sync_page_of(owner_id)


@viewers
def overview(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if selectors.sees_all(actor):
        connections = selectors.connections_of(actor=actor).order_by("owner__email", "role", "pk")
        page = Paginator(connections, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request, "integrations/all_connections.html", {"connections": page, "page": page}
        )
    own = {c.role: c for c in selectors.own_connections(actor=actor)}
    mappings = {m.trade_point_id: m for m in selectors.own_mappings(actor=actor)}
    trade_points = [
        (point, mappings.get(point.pk))
        for point in selectors.own_trade_points(actor=actor).order_by("gone_at", "-is_main", "name")
    ]
    return render(
        request,
        "integrations/overview.html",
        {
            "accounting": own.get(ConnectionRole.ACCOUNTING),
            "point_of_sale": own.get(ConnectionRole.POINT_OF_SALE),
            "shop": own.get(ConnectionRole.SHOP),
            "trade_points": trade_points,
            "schedules": selectors.own_schedules(actor=actor),
        },
    )


@owners("integrations.add_connection")
def connect(request: HttpRequest, role: str) -> HttpResponse:
    existing = selectors.own_connections(actor=request.user).filter(role=role).first()
    initial = {"system": existing.system} if existing else None
    form = ConnectForm(request.POST or None, role=role, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connection = actions.Connect(
                request.user,
                role=role,
                system=form.cleaned_data["system"],
                token=form.cleaned_data["token"],
            ).execute()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            flash.success(
                request,
                _("Connected to %(account)s.") % {"account": connection.account_name},
            )
            if connection.status_reason:
                flash.error(request, connection.status_reason)
            return redirect("integrations:connection_detail", connection.pk)
    return render(
        request,
        "integrations/connect.html",
        {"form": form, "role": ConnectionRole(role), "existing": existing},
    )


@require_POST
@owners("integrations.add_connection")
def shop_sales(request: HttpRequest) -> HttpResponse:
    """Turn booking online-shop sales on (`enabled=on`) or off (`enabled=off`)."""
    wanted = request.POST.get("enabled")
    if wanted == "on":
        try:
            actions.TurnOnShopSales(request.user).execute()
        except ValidationError as error:
            flash.error(request, " ".join(error.messages))
        else:
            flash.success(
                request,
                _("Online-shop sales will be booked: map the Online shop trade point below."),
            )
    elif wanted == "off":
        try:
            turned_off = actions.TurnOffShopSales(request.user).execute()
        except ValidationError as error:
            return _refused(request, error, request.user.pk)
        if turned_off:
            flash.success(request, _("Online-shop sales are no longer booked."))
    else:
        return HttpResponseBadRequest(_("Say whether to turn online-shop sales on or off."))
    return redirect("integrations:overview")


@viewers
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(selectors.connections_of(actor=request.user), pk=pk)
    return render(
        request,
        "integrations/connection_detail.html",
        {
            "connection": connection,
            "items": selectors.reference_items_of(connection=connection),
            "is_owner": connection.owner_id == request.user.pk,
            "system": services.system_label(connection.system),
        },
    )


@require_POST
@owners("integrations.change_connection")
def connection_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(selectors.own_connections(actor=request.user), pk=pk)
    _refresh_note(
        request, actions.RefreshReferenceData(request.user, connection=connection).execute()
    )
    return redirect("integrations:connection_detail", connection.pk)


@require_POST
@owners("integrations.delete_connection")
def connection_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(selectors.own_connections(actor=request.user), pk=pk)
    try:
        actions.Disconnect(request.user, connection=connection).execute()
    except ValidationError as error:
        return _refused(request, error, connection.owner_id)
    flash.success(request, _("Disconnected. The token was deleted from Lavka."))
    return redirect("integrations:overview")


def _own_trade_point(request: HttpRequest, pk: int) -> ReferenceItem:
    return get_object_or_404(selectors.own_trade_points(actor=request.user), pk=pk)


@owners("integrations.add_tradepointmapping")
def mapping_edit(request: HttpRequest, pk: int) -> HttpResponse:
    trade_point = _own_trade_point(request, pk)
    mapping = TradePointMapping.objects.filter(trade_point=trade_point).first()
    initial = (
        {"cash_desk": mapping.cash_desk_id, "warehouse": mapping.warehouse_id} if mapping else None
    )
    form = MappingForm(request.POST or None, owner=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.SaveMapping(
                request.user,
                trade_point=trade_point,
                cash_desk=form.cleaned_data["cash_desk"],
                warehouse=form.cleaned_data["warehouse"],
            ).execute()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            flash.success(request, _("Mapping saved."))
            return redirect("integrations:overview")
    return render(
        request,
        "integrations/mapping_form.html",
        {
            "form": form,
            "trade_point": trade_point,
            "mapping": mapping,
            "missing": [
                kind.label
                for kind in (ReferenceKind.CASH_DESK, ReferenceKind.WAREHOUSE)
                if not services.usable_items(owner=request.user, kind=kind).exists()
            ],
        },
    )


@require_POST
@owners("integrations.delete_tradepointmapping")
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    trade_point = _own_trade_point(request, pk)
    mapping = TradePointMapping.objects.filter(trade_point=trade_point).first()
    if mapping is None:
        raise Http404
    try:
        actions.DeleteMapping(request.user, mapping=mapping).execute()
    except ValidationError as error:
        return _refused(request, error, mapping.owner_id)
    flash.success(request, _("Mapping removed."))
    return redirect("integrations:overview")


def _own_schedule(request: HttpRequest, pk: int) -> SyncSchedule:
    return get_object_or_404(selectors.own_schedules(actor=request.user), pk=pk)


@owners("integrations.change_syncschedule")
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _own_schedule(request, pk)
    form = IntervalForm(
        request.POST or None, initial={"interval_minutes": schedule.interval_minutes}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.SetInterval(
                request.user,
                schedule=schedule,
                interval_minutes=form.cleaned_data["interval_minutes"],
            ).execute()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            flash.success(request, _("Schedule saved."))
            return redirect("integrations:overview")
    return render(request, "integrations/schedule_form.html", {"form": form, "schedule": schedule})


@require_POST
@owners("integrations.change_syncschedule")
def schedule_pause(request: HttpRequest, pk: int) -> HttpResponse:
    actions.PauseSchedule(request.user, schedule=_own_schedule(request, pk)).execute()
    flash.success(request, _("Schedule paused."))
    return redirect("integrations:overview")


@require_POST
@owners("integrations.change_syncschedule")
def schedule_resume(request: HttpRequest, pk: int) -> HttpResponse:
    actions.ResumeSchedule(request.user, schedule=_own_schedule(request, pk)).execute()
    flash.success(request, _("Schedule resumed."))
    return redirect("integrations:overview")


# --- the sync page ------------------------------------------------------------------------


def _duration(run: SyncRun) -> str:
    """How long a finished run took, to the second ("" while it runs)."""
    if run.finished_at is None:
        return ""
    seconds = max(0, int((run.finished_at - run.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}


def _sync_page_of(owner_id: int) -> HttpResponse:
    """Back to the owner's sync page (reached through either of their connections)."""
    connection = Connection.objects.filter(owner_id=owner_id).order_by("role", "pk").first()
    if connection is None:
        return redirect("integrations:overview")
    return redirect("integrations:sync", connection.pk)


@viewers
def sync(request: HttpRequest, pk: int) -> HttpResponse:
    """The connection owner's sync: mappings, schedules, runs, shifts waiting."""
    connection = get_object_or_404(selectors.connections_of(actor=request.user), pk=pk)
    owner_id = connection.owner_id
    schedules = [
        (schedule, dispatch.run_under_way(schedule))
        for schedule in selectors.schedules_of(owner_id=owner_id)
    ]
    runs = Paginator(selectors.runs_of(owner_id=owner_id), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for run in runs:
        run.duration = _duration(run)  # type: ignore[attr-defined]
    waiting = selectors.waiting_shifts(owner_id=owner_id)
    counts = selectors.shift_counts(owner_id=owner_id)
    discarded = selectors.discarded_shifts(owner_id=owner_id)
    return render(
        request,
        "integrations/sync.html",
        {
            "connection": connection,
            "connections": Connection.objects.filter(owner_id=owner_id).order_by("role"),
            "is_owner": owner_id == request.user.pk,
            "mappings": selectors.mappings_of(owner_id=owner_id),
            "schedules": schedules,
            "runs": runs,
            "counts": counts,
            "booked_count": counts["done"] - discarded,
            "waiting": waiting[:WAITING_SHOWN],
            "waiting_count": waiting.count(),
            "discarded_count": discarded,
        },
    )


# How often the run page asks for its progress: while the run lists or sends, and
# while its shifts only wait out a backoff (minutes to hours).
POLL_SECONDS_SENDING = 1
POLL_SECONDS_WAITING = 10


def _progress(run: SyncRun) -> dict[str, object]:
    """A run's counts and its shifts per state; `finished` once the run is over and
    none of its shifts is still being sent; `poll_seconds`: when to ask again."""
    states = selectors.run_shift_counts(run=run)
    sending = run.finished_at is None or selectors.run_is_sending(run=run)
    return {
        "poll_seconds": POLL_SECONDS_SENDING if sending else POLL_SECONDS_WAITING,
        "status": run.status,
        "label": run.get_status_display(),
        "finished": run.finished_at is not None and not (states["pending"] or states["claimed"]),
        "shifts_found": run.shifts_found,
        "shifts_booked": run.shifts_booked,
        "goods_sent": run.goods_sent,
        "goods_archived": run.goods_archived,
        "errors": run.errors,
        "last_error": run.last_error,
        "shifts_pending": states["pending"] + states["claimed"],
        "shifts_done": states["done"],
        "shifts_waiting": states["attention"] + states["failed"],
    }


def _visible_run(request: HttpRequest, pk: int) -> SyncRun:
    return get_object_or_404(selectors.visible_runs(actor=request.user), pk=pk)


@viewers
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _visible_run(request, pk)
    owner_id = run.schedule.owner_id
    run.duration = _duration(run)  # type: ignore[attr-defined]
    shifts = Paginator(selectors.shift_syncs_of_run(run=run), SHIFTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "integrations/run_detail.html",
        {
            "run": run,
            "progress": _progress(run),
            "shifts": shifts,
            "is_owner": owner_id == request.user.pk,
            "sync_connection": Connection.objects.filter(owner_id=owner_id)
            .order_by("role", "pk")
            .first(),
        },
    )


@viewers
def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The numbers the run page polls for."""
    response = JsonResponse(_progress(_visible_run(request, pk)))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@owners("integrations.change_syncschedule")
def schedule_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Sync now: to the new run's page, or to the run already under way."""
    schedule = _own_schedule(request, pk)
    try:
        run = actions.RunSyncNow(request.user, schedule=schedule).execute()
    except actions.AlreadyRunning as running:
        flash.info(request, running.message)
        return redirect("integrations:run_detail", running.run.pk)
    except ValidationError as error:
        for message in error.messages:
            flash.error(request, message)
        return _sync_page_of(schedule.owner_id)
    flash.success(request, _("Sync started."))
    return redirect("integrations:run_detail", run.pk)


def _act_on_shift(
    request: HttpRequest, pk: int, action: type, done: str, not_waiting: str
) -> HttpResponse:
    """A per-shift button of the sync page: run the action on the actor's own row and
    say how it went."""
    shift = get_object_or_404(selectors.own_shift_syncs(actor=request.user), pk=pk)
    try:
        acted = action(request.user, shift=shift).execute()
    except ValidationError as error:
        for message in error.messages:
            flash.warning(request, message)
    else:
        if acted:
            flash.success(request, done % {"number": shift.report_number})
        else:
            flash.warning(request, not_waiting)
    return redirect("integrations:sync", shift.mapping.trade_point.connection_id)


@require_POST
@owners("integrations.change_shiftsync")
def shift_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _act_on_shift(
        request,
        pk,
        actions.RetryShift,
        _("Shift %(number)s is being sent again."),
        _("This shift is not waiting for a retry any more."),
    )


@require_POST
@owners("integrations.change_shiftsync")
def sync_retry_all(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(selectors.own_connections(actor=request.user), pk=pk)
    queued = actions.RetryWaitingShifts(request.user, connection=connection).execute()
    if queued:
        flash.success(
            request,
            ngettext(
                "%(count)d shift is being sent again.",
                "%(count)d shifts are being sent again.",
                queued,
            )
            % {"count": queued},
        )
    else:
        flash.info(request, _("No shift is waiting for a retry."))
    return redirect("integrations:sync", connection.pk)


@require_POST
@owners("integrations.change_shiftsync")
def shift_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Give up a shift waiting for a person, deliberately (it can never be booked)."""
    return _act_on_shift(
        request,
        pk,
        actions.DiscardShift,
        _("Shift %(number)s was discarded: it will not be booked."),
        _("This shift is not waiting for a person any more."),
    )
