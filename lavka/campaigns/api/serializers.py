"""Serializers of the campaigns API. They check the shape of input; the rules are in
`actions`, which the views call with `validated_data`."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, tzinfo
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries.serializers import CountryFieldMixin
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    Message,
    Recipient,
    RecipientList,
    mask_emails_in,
)
from lavka.core.api import StrictJsonTypes


class OwnPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """Accepts only the acting user's own objects: anyone else's id reads as unknown."""

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().filter(owner=self.context["request"].user)


class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601. A time without an offset is read in the acting user's time zone."""

    def default_timezone(self) -> tzinfo:
        request = self.context.get("request")
        try:
            return zoneinfo.ZoneInfo(getattr(request.user, "time_zone", "") or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return UTC


class CampaignsErrorSerializer(serializers.Serializer[Any]):
    """The body of a 400: a summary in `detail`; each field at fault maps to a list of
    messages, and errors that belong to no field are in `non_field_errors`."""

    detail = serializers.CharField()
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class RecipientSerializer(
    StrictJsonTypes, CountryFieldMixin, serializers.ModelSerializer[Recipient]
):
    phone = PhoneNumberField(required=False, allow_blank=True)
    can_receive = serializers.BooleanField(read_only=True)

    class Meta:
        model = Recipient
        fields = [
            "id",
            "email",
            "full_name",
            "comment",
            "phone",
            "country",
            "is_active",
            "can_receive",
            "unsubscribed_at",
            "suppressed_at",
            "suppression_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["unsubscribed_at", "suppressed_at", "suppression_reason"]


class RecipientFilterSerializer(serializers.Serializer[Any]):
    search = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Part of the email, name or comment.")
    )
    state = serializers.ChoiceField(
        choices=["active", "inactive", "unsubscribed", "suppressed"],
        required=False,
        allow_blank=True,
    )


class RecipientListSerializer(StrictJsonTypes, serializers.ModelSerializer[RecipientList]):
    size = serializers.IntegerField(read_only=True, help_text=_("How many recipients."))
    members = OwnPrimaryKeyField(
        source="recipients",
        many=True,
        required=False,
        queryset=Recipient.objects.all(),
        help_text=_("Ids of your recipients on the list."),
    )

    class Meta:
        model = RecipientList
        fields = ["id", "name", "description", "size", "members", "created_at", "updated_at"]


class MessageSerializer(StrictJsonTypes, serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = [
            "id",
            "subject",
            "html_body",
            "text_body",
            "is_active",
            "created_at",
            "updated_at",
        ]


class MasksAddressesForOthers:
    """Only the owner reads the addresses of their audience: for anyone else (a moderator)
    every address in `masked_fields` is masked, the SMTP replies and the reasons that
    quote them included. Without a request in the context, everything is masked."""

    masked_fields: tuple[str, ...] = ()
    context: dict[str, Any]

    def owner_id(self, instance: Any) -> int | None:
        return getattr(instance, "owner_id", None)

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)  # type: ignore[misc]
        viewer = getattr(self.context.get("request"), "user", None)
        if viewer is None or viewer.pk is None or viewer.pk != self.owner_id(instance):
            for name in self.masked_fields:
                if data.get(name):
                    data[name] = mask_emails_in(data[name])
        return data


class MailingRunSerializer(MasksAddressesForOthers, serializers.ModelSerializer[MailingRun]):
    masked_fields = ("status_reason",)

    def owner_id(self, instance: Any) -> int | None:
        return instance.mailing.owner_id  # type: ignore[no-any-return]

    class Meta:
        model = MailingRun
        fields = [
            "id",
            "mailing",
            "scheduled_for",
            "status",
            "status_reason",
            "subject",
            "total",
            "sent",
            "failed",
            "skipped",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class DeliverySerializer(MasksAddressesForOthers, serializers.ModelSerializer[Delivery]):
    masked_fields = ("email", "smtp_reply")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "run",
            "recipient",
            "email",
            "status",
            "skip_reason",
            "attempts",
            "smtp_code",
            "smtp_reply",
            "last_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields


class DeliveryFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)


class MailingStatsSerializer(serializers.Serializer[Any]):
    runs = serializers.IntegerField(source="stat_runs")
    sent = serializers.IntegerField(source="stat_sent")
    failed = serializers.IntegerField(source="stat_failed")
    skipped = serializers.IntegerField(source="stat_skipped")


class MailingSerializer(
    StrictJsonTypes, MasksAddressesForOthers, serializers.ModelSerializer[Mailing]
):
    masked_fields = ("status_reason",)

    owner = serializers.EmailField(source="owner.email", read_only=True)
    message = OwnPrimaryKeyField(queryset=Message.objects.all())
    lists = OwnPrimaryKeyField(many=True, required=False, queryset=RecipientList.objects.all())
    recipients = OwnPrimaryKeyField(many=True, required=False, queryset=Recipient.objects.all())
    first_send_at = LocalDateTimeField(
        help_text=_("ISO 8601; without an offset it is read in your time zone.")
    )
    end_at = LocalDateTimeField(
        required=False, allow_null=True, help_text=_("Optional; no sends after it.")
    )
    stats = MailingStatsSerializer(source="*", read_only=True)

    class Meta:
        model = Mailing
        fields = [
            "id",
            "owner",
            "name",
            "message",
            "lists",
            "recipients",
            "first_send_at",
            "periodicity",
            "cron_expression",
            "end_at",
            "time_zone",
            "status",
            "status_reason",
            "next_send_at",
            "disabled_by_manager",
            "stats",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "time_zone",
            "status",
            "status_reason",
            "next_send_at",
            "disabled_by_manager",
        ]


class MailingPauseSerializer(StrictJsonTypes):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    disable = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Managers only: the owner cannot resume it."),
    )
