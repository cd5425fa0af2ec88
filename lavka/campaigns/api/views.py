"""Viewsets of the campaigns API. They validate input and call the actions.

Objects are found through the selectors first; an action refused on an object the
caller does not own answers 404, like an object that does not exist (a moderator sees
every mailing but may not edit another owner's). A ValidationError becomes a 400 with
the same field map; an error that belongs to no field is also given as the `detail`.
Invalid status changes (scheduling a mailing twice, resuming one that is not paused) are
such errors: 400, never 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from lavka.campaigns import actions, selectors
from lavka.campaigns.api.permissions import RunsCampaigns
from lavka.campaigns.api.serializers import (
    CampaignsErrorSerializer,
    DeliveryFilterSerializer,
    DeliverySerializer,
    MailingPauseSerializer,
    MailingRunSerializer,
    MailingSerializer,
    MessageSerializer,
    RecipientFilterSerializer,
    RecipientListSerializer,
    RecipientSerializer,
)
from lavka.campaigns.models import Mailing, MailingRun, Message, Recipient, RecipientList
from lavka.core.actions import Action, owns
from lavka.core.api import query_values

NON_FIELD_KEY = api_settings.NON_FIELD_ERRORS_KEY


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's ValidationError into DRF's 400, field by field."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            errors: dict[str, Any] = {
                (NON_FIELD_KEY if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            errors = {NON_FIELD_KEY: exc.messages}
        if NON_FIELD_KEY in errors:
            errors["detail"] = " ".join(errors[NON_FIELD_KEY])
        raise serializers.ValidationError(errors) from exc


@contextmanager
def refusal_as_missing(action: Action[Any]) -> Iterator[None]:
    """An action refused on a mailing the caller does not own answers 404: they found it
    only because they may see it (a moderator), as if it did not exist for this."""
    try:
        yield
    except PermissionDenied:
        mailing = getattr(action, "mailing", None)
        if mailing is not None and not owns(action.actor, mailing):
            raise Http404 from None
        raise


def carry_out(action: Action[Any]) -> Any:
    """Execute an action; its ValidationError is a 400."""
    with refusal_as_missing(action), service_errors():
        return action.execute()


def check_first(action: Action[Any]) -> None:
    """Only the check of an action, before the input is looked at."""
    with refusal_as_missing(action):
        action.check()


INVALID_INPUT = OpenApiResponse(
    CampaignsErrorSerializer, description=_("Invalid input, with the fields at fault.")
)
TRANSITION_ERROR = OpenApiResponse(
    CampaignsErrorSerializer, description=_("The mailing's status does not allow this action.")
)


def _crud_schema(serializer: type[serializers.Serializer[Any]], **more: Any) -> Any:
    """Document each write's 400 beside its success."""
    return extend_schema_view(
        create=extend_schema(responses={201: serializer, 400: INVALID_INPUT}),
        update=extend_schema(responses={200: serializer, 400: INVALID_INPUT}),
        partial_update=extend_schema(responses={200: serializer, 400: INVALID_INPUT}),
        **more,
    )


@_crud_schema(RecipientSerializer, list=extend_schema(parameters=[RecipientFilterSerializer]))
class RecipientViewSet(viewsets.ModelViewSet[Recipient]):
    """Your recipients (clients). Emails are unique per owner, compared case-insensitively."""

    permission_classes = [RunsCampaigns]

    lookup_value_converter = "int"
    serializer_class = RecipientSerializer

    def get_queryset(self) -> QuerySet[Recipient]:
        if self.action != "list":
            return selectors.recipients_of(actor=self.request.user)
        filters = RecipientFilterSerializer(data=query_values(self.request))
        filters.is_valid(raise_exception=True)
        return selectors.recipients_of(actor=self.request.user, **filters.validated_data)

    def perform_create(self, serializer: RecipientSerializer) -> None:  # type: ignore[override]
        serializer.instance = carry_out(
            actions.CreateRecipient(self.request.user, **serializer.validated_data)
        )

    def perform_update(self, serializer: RecipientSerializer) -> None:  # type: ignore[override]
        recipient = serializer.instance
        assert recipient is not None
        carry_out(
            actions.UpdateRecipient(
                self.request.user, recipient=recipient, **serializer.validated_data
            )
        )

    def perform_destroy(self, instance: Recipient) -> None:
        carry_out(actions.DeleteRecipient(self.request.user, recipient=instance))


@_crud_schema(RecipientListSerializer)
class RecipientListViewSet(viewsets.ModelViewSet[RecipientList]):
    """Your lists (audiences). A recipient may be on several lists."""

    permission_classes = [RunsCampaigns]

    lookup_value_converter = "int"
    serializer_class = RecipientListSerializer

    def get_queryset(self) -> QuerySet[RecipientList]:
        return selectors.lists_of(actor=self.request.user).prefetch_related(
            Prefetch("recipients", queryset=Recipient.objects.only("pk"))
        )

    def _save(self, serializer: RecipientListSerializer) -> None:
        data = serializer.validated_data
        current = serializer.instance
        saved = carry_out(
            actions.SaveList(
                self.request.user,
                name=data.get("name", current.name if current else ""),
                description=data.get("description", current.description if current else ""),
                members=data.get("recipients"),
                recipient_list=current,
            )
        )
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_create(self, serializer: RecipientListSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: RecipientListSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: RecipientList) -> None:
        carry_out(actions.DeleteList(self.request.user, recipient_list=instance))


@_crud_schema(MessageSerializer, destroy=extend_schema(responses={204: None, 400: INVALID_INPUT}))
class MessageViewSet(viewsets.ModelViewSet[Message]):
    """Your messages. Bodies may use {{ name }}, {{ email }} and {{ unsubscribe_url }}."""

    permission_classes = [RunsCampaigns]

    lookup_value_converter = "int"
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        return selectors.messages_of(actor=self.request.user)

    def _save(self, serializer: MessageSerializer) -> None:
        data = serializer.validated_data
        current = serializer.instance
        values = {
            name: data.get(name, getattr(current, name) if current else default)
            for name, default in (
                ("subject", ""),
                ("html_body", ""),
                ("text_body", ""),
                ("is_active", True),
            )
        }
        serializer.instance = carry_out(
            actions.SaveMessage(self.request.user, message=current, **values)
        )

    def perform_create(self, serializer: MessageSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: MessageSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: Message) -> None:
        carry_out(actions.DeleteMessage(self.request.user, message=instance))


class MailingRunViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[MailingRun]):
    """Runs of the mailings you may see (every mailing, for managers)."""

    permission_classes = [RunsCampaigns]

    lookup_value_converter = "int"
    serializer_class = MailingRunSerializer

    def get_queryset(self) -> QuerySet[MailingRun]:
        return selectors.runs_visible_to(actor=self.request.user)

    @extend_schema(
        operation_id="campaigns_runs_deliveries_list",
        parameters=[DeliveryFilterSerializer],
        responses=DeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """One row per recipient of the run: status, attempts and the SMTP reply."""
        run = self.get_object()
        filters = DeliveryFilterSerializer(data=query_values(request))
        filters.is_valid(raise_exception=True)
        deliveries = selectors.deliveries_of(run=run)
        if filters.validated_data.get("status"):
            deliveries = deliveries.filter(status=filters.validated_data["status"])
        page = self.paginate_queryset(deliveries)
        deliveries_data = DeliverySerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(deliveries_data.data)


def _transition_schema(operation_id: str, description: StrOrPromise, request: Any = None) -> Any:
    return extend_schema(
        operation_id=operation_id,
        description=description,
        request=request,
        responses={200: MailingSerializer, 400: TRANSITION_ERROR},
    )


@_crud_schema(MailingSerializer)
class MailingViewSet(viewsets.ModelViewSet[Mailing]):
    """Mailings: a message sent to lists and recipients, once or on a schedule.

    Owners see and change their own. Managers also see everyone's, and may pause, resume
    and complete them, but cannot edit or delete them (404).
    """

    permission_classes = [RunsCampaigns]

    serializer_class = MailingSerializer
    lookup_value_converter = "int"

    LOADS_ONE = {"schedule", "pause", "resume", "complete", "runs"}
    # What each change does, checked as soon as the mailing is found (before the input).
    CHANGES: dict[str, type[Action[Any]]] = {
        "update": actions.SaveMailing,
        "partial_update": actions.SaveMailing,
        "destroy": actions.DeleteMailing,
        "schedule": actions.ScheduleMailing,
        "pause": actions.PauseMailing,
        "resume": actions.ResumeMailing,
        "complete": actions.CompleteMailing,
    }

    def get_queryset(self) -> QuerySet[Mailing]:
        mailings = selectors.mailings_visible_to(actor=self.request.user)
        return mailings if self.action in self.LOADS_ONE else selectors.with_details(mailings)

    def get_object(self) -> Mailing:
        mailing = super().get_object()
        change = self.CHANGES.get(self.action or "")
        if change is not None:
            check_first(change(self.request.user, mailing=mailing))
        return mailing

    def _fresh(self, mailing: Mailing) -> Mailing:
        return selectors.with_details(Mailing.objects.all()).get(pk=mailing.pk)

    def _save(self, serializer: MailingSerializer) -> None:
        data = serializer.validated_data
        current = serializer.instance

        def value(name: str, default: Any = None) -> Any:
            if name in data:
                return data[name]
            return getattr(current, name) if current else default

        saved = carry_out(
            actions.SaveMailing(
                self.request.user,
                mailing=current,
                name=value("name"),
                message=value("message"),
                first_send_at=value("first_send_at"),
                periodicity=value("periodicity", "once"),
                cron_expression=value("cron_expression", ""),
                end_at=value("end_at"),
                lists=data.get("lists", current.lists.all() if current else ()),
                recipients=data.get("recipients", current.recipients.all() if current else ()),
            )
        )
        serializer.instance = self._fresh(saved)

    def perform_create(self, serializer: MailingSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: MailingSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: Mailing) -> None:
        carry_out(actions.DeleteMailing(self.request.user, mailing=instance))

    def _transition(self, **options: Any) -> Response:
        mailing = self.get_object()
        carry_out(self.CHANGES[self.action or ""](self.request.user, mailing=mailing, **options))
        return Response(self.get_serializer(self._fresh(mailing)).data)

    @_transition_schema(
        "campaigns_mailings_schedule",
        _("Start a draft: it fires at its next send time. Owners only."),
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        return self._transition()

    @_transition_schema(
        "campaigns_mailings_pause",
        _("Stop sending until resumed; a run in progress stops too."),
        request=MailingPauseSerializer,
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        options = MailingPauseSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        return self._transition(**options.validated_data)

    @_transition_schema(
        "campaigns_mailings_resume",
        _("Continue a paused mailing from now; slots missed while paused are not sent."),
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._transition()

    @_transition_schema(
        "campaigns_mailings_complete",
        _("End the mailing for good: no further runs."),
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return self._transition()

    @extend_schema(
        operation_id="campaigns_mailings_runs_list",
        responses=MailingRunSerializer(many=True),
    )
    @action(detail=True, methods=["get"], serializer_class=MailingRunSerializer)
    def runs(self, request: Request, pk: str | None = None) -> Response:
        """The mailing's runs, newest first, with their counts."""
        mailing = self.get_object()
        runs = selectors.runs_visible_to(actor=request.user).filter(mailing=mailing)
        page = self.paginate_queryset(runs)
        runs_data = MailingRunSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(runs_data.data)
