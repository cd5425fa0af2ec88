"""Sending one chunk of a run over several SMTP connections ("lanes").

A slow, distant server is kept busy by several connections at once; each lane claims a
small batch at a time, reserves rate slots for it, and records each message's outcome as
soon as the server answered. So a killed worker re-sends at most one message per lane
(the one on the wire), and one message that cannot be built or sent fails alone.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection
from django.utils import timezone

from lavka.campaigns.dispatch.claiming import ClaimedDelivery, claim_batch, release
from lavka.campaigns.dispatch.composing import build_email, not_sent_reason
from lavka.campaigns.dispatch.finishing import finalize_run
from lavka.campaigns.dispatch.limits import (
    batch_size,
    claim_lease,
    connections_per_chunk,
    rate_slack,
)
from lavka.campaigns.dispatch.outcomes import Outcome, OutcomeLog
from lavka.campaigns.dispatch.rate_limit import reserve_rate_slots
from lavka.campaigns.models import Delivery, DeliveryStatus, MailingRun, RunStatus
from lavka.campaigns.sending import ConnectionFailed, Sender, SendResult, open_sender
from lavka.core import work

logger = logging.getLogger(__name__)

# Failures that are not one message's fault: the server (retried with backoff), the
# database (the task is retried), the task's time limit. Anything else raised while
# composing or sending one message fails that delivery alone.
NOT_THIS_MESSAGE = (ConnectionFailed, DatabaseError, SoftTimeLimitExceeded)


def send_chunk(*, run_id: int, first_id: int, last_id: int) -> None:
    """Send the run's pending deliveries with ids in [first_id, last_id]."""
    run = MailingRun.objects.select_related("mailing").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.SENDING:
        return
    ids = list(
        Delivery.objects.filter(
            run_id=run_id, pk__gte=first_id, pk__lte=last_id, status=DeliveryStatus.PENDING
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    lanes = max(1, min(connections_per_chunk(), len(ids) // max(1, batch_size()) or 1))
    groups = [ids[lane::lanes] for lane in range(lanes)]
    if lanes == 1:
        _send_group(run, groups[0])
    else:
        threads = [
            threading.Thread(target=_send_group_in_thread, args=(run, group)) for group in groups
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finalize_run(run_id=run_id)


def _send_group_in_thread(run: MailingRun, ids: list[int]) -> None:
    try:
        _send_group(run, ids)
    except Exception:
        logger.exception("sending lane of run %s failed", run.pk)
    finally:
        connection.close()


def _run_is_sending(run_id: int) -> bool:
    return MailingRun.objects.filter(pk=run_id, status=RunStatus.SENDING).exists()


def _send_group(run: MailingRun, ids: list[int]) -> None:
    sender = open_sender()
    try:
        for start in range(0, len(ids), batch_size()):
            if not _run_is_sending(run.pk):
                return
            claimed_at = timezone.now()
            claimed = claim_batch(ids[start : start + batch_size()])
            if not claimed:
                continue
            lease_owner = claimed[0]["lease_owner"]
            granted, retry_at = reserve_rate_slots(
                owner_id=run.mailing.owner_id, delivery_ids=[d["pk"] for d in claimed]
            )
            granted_set = set(granted)
            held_back = [d["pk"] for d in claimed if d["pk"] not in granted_set]
            if held_back:
                release(held_back, lease_owner=lease_owner, not_before=retry_at)
            # Stop sending on the rate slot once it is stale, and well before the lease
            # runs out (after that another worker may take these rows and send them).
            deadline = min(timezone.now() + rate_slack(), claimed_at + claim_lease() / 2)
            log = OutcomeLog(run, lease_owner=lease_owner)
            try:
                _send_batch(
                    run, sender, [d for d in claimed if d["pk"] in granted_set], log, deadline
                )
            finally:
                log.close()
            if held_back:
                return  # the rest waits for the rate window; the sweeper re-queues it
    finally:
        sender.close()


def _send_batch(
    run: MailingRun,
    sender: Sender,
    deliveries: list[ClaimedDelivery],
    log: OutcomeLog,
    deadline: datetime,
) -> None:
    """Send one claimed batch, recording each outcome as soon as it is known.

    An error composing or sending one message fails that delivery, with the reason, and
    the batch goes on; only a connection that failed stops it (everything not sent yet
    is retried later), as does a deadline passed or a lease lost. Each delivery is
    begun before it is sent (the first on its own, each next one with the outcome
    before it).
    """
    begun = False
    for index, delivery in enumerate(deliveries):
        if timezone.now() > deadline:
            # The rate slot is too old to use: give the rest back and queue them again
            # at once for a new reservation (not left for the sweeper's next round).
            rest = [d["pk"] for d in deliveries[index:]]
            release(rest, lease_owner=delivery["lease_owner"], not_before=None)
            work.mark_queued(Delivery.objects.filter(pk__in=rest))
            Delivery.queue_work(rest)
            return
        if not begun and not work.begin(
            Delivery, delivery["pk"], lease_owner=delivery["lease_owner"]
        ):
            return  # the lease ran out: another worker owns the batch now
        try:
            result = _send_one(run, sender, delivery)
        except ConnectionFailed as exc:
            reply = str(exc)[:490]
            log.record(
                [
                    Outcome(d["pk"], d["recipient_id"], d["attempts"], SendResult(0, reply))
                    for d in deliveries[index:]
                ]
            )
            return
        outcome = Outcome(delivery["pk"], delivery["recipient_id"], delivery["attempts"], result)
        following = deliveries[index + 1]["pk"] if index + 1 < len(deliveries) else None
        if not log.record([outcome], begin=following):
            return  # the lease ran out: another worker owns the rest of the batch now
        begun = following is not None


def _send_one(run: MailingRun, sender: Sender, delivery: ClaimedDelivery) -> SendResult:
    """Compose and send one delivery's message. A failure of this message alone comes
    back as a result refused by Lavka; a failure that is not this message's is raised."""
    try:
        email = build_email(
            run,
            delivery["pk"],
            delivery["recipient_id"],
            str(delivery["email"]),
            str(delivery["recipient__full_name"] or ""),
        )
    except NOT_THIS_MESSAGE:
        raise
    except Exception as exc:
        logger.warning("delivery %s not composed: %r", delivery["pk"], exc)
        return SendResult.refused_by_lavka(not_sent_reason(exc))
    try:
        return sender.send(email)
    except NOT_THIS_MESSAGE:
        raise
    except Exception as exc:
        logger.exception("delivery %s not sent", delivery["pk"])
        sender.close()  # the SMTP session may be mid-transaction: start the next one afresh
        return SendResult.refused_by_lavka(not_sent_reason(exc))
