"""Viewsets of the campaigns API.

A service's ValidationError becomes a 400 with the same field map; an error that
belongs to no field is also given as the `detail`. Invalid status changes (scheduling a
mailing twice, resuming one that is not paused) are such errors: 400, never 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from lavka.campaigns import selectors, services
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

    lookup_value_converter = "int"
    serializer_class = RecipientSerializer

    def get_queryset(self) -> QuerySet[Recipient]:
        if self.action != "list":
            return selectors.recipients_of(actor=self.request.user)
        filters = RecipientFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.recipients_of(actor=self.request.user, **filters.validated_data)

    def perform_create(self, serializer: RecipientSerializer) -> None:  # type: ignore[override]
        with service_errors():
            serializer.instance = services.create_recipient(
                owner=self.request.user, **serializer.validated_data
            )

    def perform_update(self, serializer: RecipientSerializer) -> None:  # type: ignore[override]
        fields = dict(serializer.validated_data)
        recipient = serializer.instance
        assert recipient is not None
        email = fields.pop("email", recipient.email)
        with service_errors():
            services.update_recipient(
                actor=self.request.user, recipient=recipient, email=email, **fields
            )

    def perform_destroy(self, instance: Recipient) -> None:
        services.delete_recipient(actor=self.request.user, recipient=instance)


@_crud_schema(RecipientListSerializer)
class RecipientListViewSet(viewsets.ModelViewSet[RecipientList]):
    """Your lists (audiences). A recipient may be on several lists."""

    lookup_value_converter = "int"
    serializer_class = RecipientListSerializer

    def get_queryset(self) -> QuerySet[RecipientList]:
        return selectors.lists_of(actor=self.request.user).prefetch_related(
            Prefetch("recipients", queryset=Recipient.objects.only("pk"))
        )

    def _save(self, serializer: RecipientListSerializer) -> None:
        data = serializer.validated_data
        current = serializer.instance
        with service_errors(), transaction.atomic():
            saved = services.save_list(
                owner=self.request.user,
                name=data.get("name", current.name if current else ""),
                description=data.get("description", current.description if current else ""),
                recipient_list=current,
            )
            if "recipients" in data:
                services.set_list_members(
                    actor=self.request.user, recipient_list=saved, recipients=data["recipients"]
                )
        serializer.instance = self.get_queryset().get(pk=saved.pk)

    def perform_create(self, serializer: RecipientListSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: RecipientListSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: RecipientList) -> None:
        services.delete_list(actor=self.request.user, recipient_list=instance)


@_crud_schema(MessageSerializer, destroy=extend_schema(responses={204: None, 400: INVALID_INPUT}))
class MessageViewSet(viewsets.ModelViewSet[Message]):
    """Your messages. Bodies may use {{ name }}, {{ email }} and {{ unsubscribe_url }}."""

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
        with service_errors():
            serializer.instance = services.save_message(
                owner=self.request.user, message=current, **values
            )

    def perform_create(self, serializer: MessageSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: MessageSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: Message) -> None:
        with service_errors():
            services.delete_message(actor=self.request.user, message=instance)


class MailingRunViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[MailingRun]):
    """Runs of the mailings you may see (every mailing, for managers)."""

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
        filters = DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = selectors.deliveries_visible_to(actor=request.user, run=run)
        if filters.validated_data.get("status"):
            deliveries = deliveries.filter(status=filters.validated_data["status"])
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


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

    serializer_class = MailingSerializer
    lookup_value_converter = "int"

    OWNER_ONLY = {"update", "partial_update", "destroy", "schedule"}
    LOADS_ONE = {"schedule", "pause", "resume", "complete", "runs"}

    def get_queryset(self) -> QuerySet[Mailing]:
        user = self.request.user
        if self.action in self.OWNER_ONLY:
            mailings = selectors.mailings_owned_by(actor=user)
        else:
            mailings = selectors.mailings_visible_to(actor=user)
        return mailings if self.action in self.LOADS_ONE else self._detailed(mailings)

    @staticmethod
    def _detailed(mailings: QuerySet[Mailing]) -> QuerySet[Mailing]:
        """What the serializer shows: stats over the runs, the owner, the audience ids."""
        return (
            mailings.select_related("owner")
            .annotate(
                stat_runs=Count("runs"),
                stat_sent=Coalesce(Sum("runs__sent"), 0),
                stat_failed=Coalesce(Sum("runs__failed"), 0),
                stat_skipped=Coalesce(Sum("runs__skipped"), 0),
            )
            .prefetch_related(
                Prefetch("lists", queryset=RecipientList.objects.only("pk", "owner")),
                Prefetch("recipients", queryset=Recipient.objects.only("pk", "owner")),
            )
        )

    def _fresh(self, mailing: Mailing) -> Mailing:
        return self._detailed(Mailing.objects.all()).get(pk=mailing.pk)

    def _save(self, serializer: MailingSerializer) -> None:
        data = serializer.validated_data
        current = serializer.instance

        def value(name: str, default: Any = None) -> Any:
            if name in data:
                return data[name]
            return getattr(current, name) if current else default

        with service_errors():
            saved = services.save_mailing(
                owner=self.request.user,
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
        serializer.instance = self._fresh(saved)

    def perform_create(self, serializer: MailingSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_update(self, serializer: MailingSerializer) -> None:  # type: ignore[override]
        self._save(serializer)

    def perform_destroy(self, instance: Mailing) -> None:
        services.delete_mailing(actor=self.request.user, mailing=instance)

    def _transition(self, change: Any, **kwargs: Any) -> Response:
        mailing = self.get_object()
        with service_errors():
            change(actor=self.request.user, mailing=mailing, **kwargs)
        return Response(self.get_serializer(self._fresh(mailing)).data)

    @_transition_schema(
        "campaigns_mailings_schedule",
        _("Start a draft: it fires at its next send time. Owners only."),
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(services.schedule_mailing)

    @_transition_schema(
        "campaigns_mailings_pause",
        _("Stop sending until resumed; a run in progress stops too."),
        request=MailingPauseSerializer,
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        options = MailingPauseSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        return self._transition(services.pause_mailing, **options.validated_data)

    @_transition_schema(
        "campaigns_mailings_resume",
        _("Continue a paused mailing from now; slots missed while paused are not sent."),
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(services.resume_mailing)

    @_transition_schema(
        "campaigns_mailings_complete",
        _("End the mailing for good: no further runs."),
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(services.complete_mailing)

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
        return self.get_paginated_response(MailingRunSerializer(page, many=True).data)
