"""Every write that matters in campaigns, one function per business action.

Who may do what is decided in `actions.py`, before any of these run; a function here
takes the acting user only to attribute the change, and raises ValidationError for input
that cannot be written (objects of different owners mixed, a wrong status, a bad
schedule). Split by subject: `audience` (recipients, lists), `messages`, `mailings`.
Sending itself (firing runs, fanning out chunks, rate limits) is in
the `dispatch/` package.
"""

from lavka.campaigns.services.audience import (
    RECIPIENT_FIELDS,
    create_recipient,
    delete_list,
    delete_recipient,
    edit_recipient,
    normalize_email,
    not_owned_by,
    require_same_owner,
    resubscribe_recipient,
    save_list,
    save_list_with_members,
    set_list_members,
    set_recipient_active,
    set_recipient_lists,
    suppress_recipients,
    unsubscribe_recipient,
    update_recipient,
)
from lavka.campaigns.services.mailings import (
    audience_queryset,
    complete_mailing,
    compute_next_send_at,
    delete_mailing,
    freeze_mailing,
    pause_mailing,
    paused_by_manager_reason,
    resume_mailing,
    save_mailing,
    schedule_mailing,
)
from lavka.campaigns.services.messages import (
    delete_message,
    save_message,
    send_test_message,
)

__all__ = [
    "RECIPIENT_FIELDS",
    "audience_queryset",
    "complete_mailing",
    "compute_next_send_at",
    "create_recipient",
    "delete_list",
    "delete_mailing",
    "delete_message",
    "delete_recipient",
    "edit_recipient",
    "freeze_mailing",
    "normalize_email",
    "not_owned_by",
    "pause_mailing",
    "paused_by_manager_reason",
    "require_same_owner",
    "resubscribe_recipient",
    "resume_mailing",
    "save_list",
    "save_list_with_members",
    "save_mailing",
    "save_message",
    "schedule_mailing",
    "send_test_message",
    "set_list_members",
    "set_recipient_active",
    "set_recipient_lists",
    "suppress_recipients",
    "unsubscribe_recipient",
    "update_recipient",
]
