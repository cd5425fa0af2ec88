"""`make run`'s demo data: the three reference demos on the demo creator's products,
with the vision service's samples and their sources; loading twice adds nothing."""

from __future__ import annotations

import pytest

from lavka.core.demo import load_demo_data
from lavka.demos.demo import VISION_PYTHON
from lavka.demos.models import Demo, DemoSample, HealthStatus

pytestmark = pytest.mark.django_db


def test_demo_data_attaches_the_three_vision_demos_with_their_samples(settings, tmp_path):
    if not VISION_PYTHON.exists():
        pytest.skip("the vision service's environment is missing: run `make vision-env`")
    settings.MEDIA_ROOT = tmp_path
    load_demo_data()
    load_demo_data()

    demos = Demo.objects.order_by("pk")
    assert [demo.kind for demo in demos] == ["faces", "plates", "exercise"]
    assert {demo.product.creator.user.email for demo in demos} == {"creator@lavka.localhost"}
    assert all(demo.health_status == HealthStatus.UNKNOWN for demo in demos)
    names = sorted(DemoSample.objects.values_list("title", flat=True))
    assert names == sorted(
        ["faces.png", "plate.png", "squats.mp4", "pull-ups.mp4", "dips.mp4", "push-ups.mp4"]
    )
    assert all(
        "public domain" in sample.source_note or "Lavka" in sample.source_note
        for sample in DemoSample.objects.all()
    )
