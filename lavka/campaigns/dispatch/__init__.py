"""Sending campaigns: firing due slots, fanning out chunks, recording every outcome.

Reliability comes from the rows, not from the broker. A Delivery is a kernel work row
(`lavka.core.work`): pending until an SMTP server accepted or refused it; a worker
claims a few deliveries at a time with a short lease before sending them; the sweeper
re-queues pending deliveries whose lease ran out or whose task message was lost. So a
worker killed with -9, a broker that drops messages (the filesystem transport) or a
restart loses nothing, and a delivery is sent by one worker at a time: only the holder
of its lease may record its outcome. A resend
after a crash between SMTP's 250 and our commit carries the same Message-ID, so it is
recognisable.

The modules, in the order work flows: `firing` (due slots → runs), `fanout` (a run's
deliveries, queued), `lanes` (a chunk over several SMTP connections) with `claiming`,
`rate_limit`, `composing` and `outcomes`, then `finishing`; `recovery` is the sweep,
`test_sends` the owner's test copy. This package sits at the tasks' level.
"""

from lavka.campaigns.dispatch.composing import build_email
from lavka.campaigns.dispatch.fanout import enqueue_pending, resume_run, start_run
from lavka.campaigns.dispatch.finishing import finalize_run
from lavka.campaigns.dispatch.firing import dispatch_due_mailings, fire_due_slot
from lavka.campaigns.dispatch.lanes import send_chunk
from lavka.campaigns.dispatch.rate_limit import reserve_rate_slots
from lavka.campaigns.dispatch.recovery import recover_stalled

__all__ = [
    "build_email",
    "dispatch_due_mailings",
    "enqueue_pending",
    "finalize_run",
    "fire_due_slot",
    "recover_stalled",
    "reserve_rate_slots",
    "resume_run",
    "send_chunk",
    "start_run",
]
