"""Bookkeeping pages under /bookkeeping/: the overview (connections, trade points and
their mappings, schedules), connecting a system, a connection's reference data."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.core.decorators import permission_required
from lavka.integrations import actions, selectors, services
from lavka.integrations.forms import ConnectForm, IntervalForm, MappingForm
from lavka.integrations.models import (
    ConnectionRole,
    ReferenceItem,
    ReferenceKind,
    SyncSchedule,
    TradePointMapping,
)

View = Callable[..., HttpResponseBase]

PAGE_SIZE = 50  # connections per page of a manager's list

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
    actions.Disconnect(request.user, connection=connection).execute()
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
    actions.DeleteMapping(request.user, mapping=mapping).execute()
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
