"""Thin tasks of the demos app, on the `demos` queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from lavka.core.background import background_task
from lavka.demos import services
from lavka.demos.models import Demo


@background_task("demos.run_demo", soft_time_limit=150, time_limit=180)
def run_demo(run_id: int) -> str:
    """Send one visitor's upload to the demo's service; a transient failure queues
    the run again for when its backoff ends (services.execute_run)."""
    return services.execute_run(run_id=run_id, take_over=run_demo.redelivered)


@background_task("demos.check_demo_health", soft_time_limit=30, time_limit=45)
def check_demo_health(demo_id: int) -> str:
    demo = Demo.objects.filter(pk=demo_id).first()
    return services.check_health(demo=demo) if demo else ""


@background_task("demos.check_all_health", soft_time_limit=30, time_limit=45)
def check_all_health() -> int:
    """Beat: one fixed entry queues a check of every demo's service."""
    return services.check_all_health()


@background_task("demos.delete_expired_runs", soft_time_limit=240, time_limit=300)
def delete_expired_runs() -> int:
    """Beat: uploads and results go once they expire (DEMOS_RESULT_TTL_SECONDS)."""
    return services.delete_expired_runs()
