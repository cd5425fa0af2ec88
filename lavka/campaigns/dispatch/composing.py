"""One delivery's email, personalised, through Lavka's composer.

Its Message-ID is the delivery's own, so a resend after a crash between the server's
250 and our commit is recognisable as the same message. A row that cannot make a
message (a name with a line break, written before names were checked) fails alone,
with `not_sent_reason` on the delivery.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.utils.translation import gettext as _

from lavka.campaigns.models import MailingRun
from lavka.campaigns.personalisation import Personalisation
from lavka.campaigns.unsubscribe import unsubscribe_url
from lavka.core.composer import UnsafeHeader, compose, message_id


def build_email(
    run: MailingRun, delivery_id: int, recipient_id: int, email: str, name: str
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(recipient_id)
    personal = Personalisation(name=name or email, email=email, unsubscribe_url=unsubscribe)
    return compose(
        to=email,
        subject=personal.render_text(run.subject),
        text_body=personal.render_text(run.text_body),
        html_body=personal.render_html(run.html_body),
        stable_id=message_id("delivery", delivery_id),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Lavka-Run": str(run.pk),
        },
    )


def not_sent_reason(error: Exception) -> str:
    """What the operator reads on a delivery that Lavka could not build or send."""
    if isinstance(error, UnsafeHeader):
        return _(
            "Not sent: the %(header)s header would contain %(found)s. Correct the "
            "recipient's name or address or the message's subject, then retry."
        ) % {"header": error.header, "found": error.found}
    return _("Not sent: %(error)s") % {"error": f"{type(error).__name__}: {error}"}
