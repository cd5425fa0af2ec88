from __future__ import annotations

from lavka.core import work
from lavka.core.background import background_task
from lavka.core.tests.work_app.models import Chore


@background_task("core_tests.do_chore")
def do_chore(chore_id: int) -> str:
    """Claim the chore, "do" it (titles starting with "fail" fail), record the outcome."""
    chore = work.claim_one(Chore.objects.filter(pk=chore_id))
    if chore is None:
        return "not claimable"
    if chore.title.startswith("fail"):
        return work.record_failure(chore, error=f"{chore.title} did not work")
    work.complete(chore)
    return work.WorkState.DONE
