from __future__ import annotations

import os
import signal
from datetime import timedelta

from lavka.core import work
from lavka.core.background import background_task
from lavka.core.tests.work_app.models import Chore


@background_task("core_tests.do_chore")
def do_chore(chore_id: int) -> str:
    """Claim the chore, "do" it (titles starting with "fail" fail, "crash" kills the
    worker's process under a one-second lease), record the outcome."""
    crashing = Chore.objects.filter(pk=chore_id, title__startswith="crash").exists()
    lease = timedelta(seconds=1) if crashing else None
    chore = work.claim_one(Chore.objects.filter(pk=chore_id), lease=lease)
    if chore is None:
        return "not claimable"
    if crashing:
        os.kill(os.getpid(), signal.SIGKILL)
    if chore.title.startswith("fail"):
        return work.record_failure(chore, error=f"{chore.title} did not work")
    work.complete(chore)
    return work.WorkState.DONE
