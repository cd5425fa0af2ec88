"""End to end: videos made here of a drawn figure (with the public-domain astronaut's
face as its head) doing squats, pull-ups, dips (front view) and push-ups (side view) go
through the HTTP endpoint, MediaPipe finds the pose in their frames, and the repetitions
are counted with their times.

No video of a real person exercising with a licence that permits shipping it could be
obtained here; the counting is also tested on pose traces (test_repetitions.py)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from services.vision.samples import encode_video, exercise_frames, squat_frames


@pytest.mark.parametrize(
    ("exercise", "repetitions"),
    [("squats", 2), ("squats", 4), ("pull-ups", 3), ("dips", 3), ("push-ups", 3)],
)
def test_a_video_of_n_repetitions_counts_n(client, exercise: str, repetitions: int) -> None:
    video = encode_video(exercise_frames(exercise, repetitions, fps=15), 15)
    response = client.post("/v1/exercise", files={"file": ("clip.mp4", video, "video/mp4")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["exercise"] == exercise
    assert body["repetitions"] == repetitions
    assert body["frames_decoded"] == 15 + repetitions * 30 + 15
    assert body["frames_with_person"] >= 0.9 * body["frames_analysed"]
    # The deepest point of squat k (0-based) is at 1 s + 2 s * k + 1 s.
    for k, repetition in enumerate(body["repetition_times"]):
        assert repetition["number"] == k + 1
        assert abs(repetition["bottom"] - (2.0 + 2.0 * k)) <= 0.35
        assert repetition["start"] < repetition["bottom"] < repetition["end"]
    preview = Image.open(io.BytesIO(base64.b64decode(body["preview_image"]["base64"])))
    assert preview.size == (body["preview_image"]["width"], body["preview_image"]["height"])
    expected = {"squats": (480, 640), "push-ups": (720, 480)}.get(exercise, (480, 720))
    assert preview.size == expected


def test_openapi_documents_the_three_endpoints(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/v1/faces", "/v1/plates", "/v1/exercise"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_health_says_the_models_are_loaded(client) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert set(body["models"]) == {"faces", "plates", "exercise"}


def test_health_answers_while_a_video_is_analysed(served: str) -> None:
    """Inference runs off the event loop: /healthz answers during a long analysis."""
    import threading

    import httpx

    video = encode_video(squat_frames(3, fps=15), 15)
    result: dict[str, object] = {}

    def analyse() -> None:
        response = httpx.post(
            served + "/v1/exercise", files={"file": ("s.mp4", video, "video/mp4")}, timeout=300
        )
        result["body"] = response.json()

    worker = threading.Thread(target=analyse)
    worker.start()
    answered_during = 0
    while worker.is_alive():
        if httpx.get(served + "/healthz", timeout=30).status_code == 200 and worker.is_alive():
            answered_during += 1
    worker.join()
    # A blocked event loop would answer once before the upload and not again until the
    # end; several answers mean the analysis ran beside it.
    assert answered_during >= 5
    assert result["body"]["repetitions"] == 3  # type: ignore[index]


def test_the_sample_maker_writes_every_sample(tmp_path) -> None:
    from services.vision import samples

    samples.main(tmp_path)
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == [
        "dips.mp4",
        "faces.png",
        "plate.png",
        "pull-ups.mp4",
        "push-ups.mp4",
        "squats.mp4",
    ]
    assert all(path.stat().st_size > 1000 for path in tmp_path.iterdir())
