"""The mailing form: what to send, to whom, and when (in the owner's time zone).

The form only parses and offers the owner's own messages, lists and recipients; the
rules about schedules live in `services.save_mailing` / `schedule_mailing`, whose
errors the view places at the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lavka.accounts.models import User
from lavka.campaigns import selectors
from lavka.campaigns.models import Mailing, Message, Periodicity, Recipient, RecipientList

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=DATETIME_INPUT)


class MailingForm(forms.Form):
    """Times are entered and shown in the time zone active while the form is used;
    the view activates the mailing's (for a new one, the owner's) zone around it."""

    name = forms.CharField(label=_("Name"), max_length=200)
    message = forms.ModelChoiceField(
        label=_("Message"),
        queryset=Message.objects.none(),
        help_text=_("Only your active messages are offered."),
    )
    lists = forms.ModelMultipleChoiceField(
        label=_("Lists"),
        queryset=RecipientList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipients = forms.ModelMultipleChoiceField(
        label=_("Single recipients"),
        queryset=Recipient.objects.none(),
        required=False,
        help_text=_("In addition to the lists. Hold Ctrl (Cmd on a Mac) to pick several."),
    )
    first_send_at = forms.DateTimeField(label=_("First send at"), widget=LocalDateTimeInput())
    periodicity = forms.ChoiceField(label=_("Periodicity"), choices=Periodicity.choices)
    cron_expression = forms.CharField(
        label=_("Cron expression"),
        max_length=100,
        required=False,
        help_text=_(
            "Only for the cron periodicity: minute hour day month weekday, e.g. '0 9 * * 1'."
        ),
    )
    end_at = forms.DateTimeField(
        label=_("End at"),
        required=False,
        widget=LocalDateTimeInput(),
        help_text=_("Optional: no sends after this time."),
    )

    def __init__(self, *args: Any, owner: User, mailing: Mailing | None = None, **kwargs: Any):
        if mailing is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": mailing.name,
                "message": mailing.message_id,
                "lists": list(mailing.lists.values_list("pk", flat=True)),
                "recipients": list(mailing.recipients.values_list("pk", flat=True)),
                "first_send_at": mailing.first_send_at,
                "periodicity": mailing.periodicity,
                "cron_expression": mailing.cron_expression,
                "end_at": mailing.end_at,
            }
        super().__init__(*args, **kwargs)
        # Editing other settings must not force a change of a since-deactivated message.
        current = Q(pk=mailing.message_id) if mailing is not None else Q(pk__in=[])
        self.fields["message"].queryset = selectors.messages_of(actor=owner).filter(  # type: ignore[attr-defined]
            Q(is_active=True) | current
        )
        self.fields["lists"].queryset = selectors.lists_of(actor=owner)  # type: ignore[attr-defined]
        self.fields["recipients"].queryset = selectors.recipients_of(actor=owner)  # type: ignore[attr-defined]
        self.fields["lists"].label_from_instance = _list_label  # type: ignore[attr-defined]


def _list_label(recipient_list: Any) -> str:
    return _("%(name)s (%(size)s recipients)") % {
        "name": recipient_list.name,
        "size": recipient_list.size,
    }


class PauseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
